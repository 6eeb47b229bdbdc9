"""Text helpers: NFC, folding, splitting, Vietnamese collation."""

from __future__ import annotations

import unicodedata

import pytest

from bot.domain.text import fold, fold_words, normalize_text, split_text, vi_sort_key


def test_normalize_turns_nfd_into_nfc_and_drops_controls() -> None:
    nfd = unicodedata.normalize("NFD", "  Bình đẳng giới\u200b\x07 ")
    assert normalize_text(nfd) == "Bình đẳng giới"


@pytest.mark.parametrize(
    ("typed", "folded"),
    [("Quay lại", "quay lai"), ("BỎ  QUA", "bo qua"), ("Đồng ý", "dong y"), ("sửa 3", "sua 3")],
)
def test_fold(typed: str, folded: str) -> None:
    assert fold(unicodedata.normalize("NFD", typed)) == folded


def test_split_keeps_every_character_and_respects_limit() -> None:
    text = ("Một đoạn văn dài. " * 40 + "\n\n") * 12
    chunks = split_text(text, 500)
    assert all(len(c) <= 500 for c in chunks)
    assert "".join(chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )
    assert len(chunks) >= len(text) // 500


def test_split_cuts_a_word_longer_than_the_limit() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("", 10) == [""]


def test_vietnamese_sort_order() -> None:
    names = ["Đông", "Dung", "Ân", "An", "Ă", "Bình", "Ơn", "Ô"]
    assert sorted(names, key=vi_sort_key) == ["An", "Ă", "Ân", "Bình", "Dung", "Đông", "Ô", "Ơn"]


def test_fold_words_drops_symbols() -> None:
    assert fold_words("Trang sau ›") == "trang sau"
    assert fold_words("‹ Trang trước") == "trang truoc"
    assert fold_words("Mạng xã hội (Zalo, Facebook…)") == "mang xa hoi zalo facebook"
    assert fold_words("😀") == ""
