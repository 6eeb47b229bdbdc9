"""The message catalogue: every key in every language, the same placeholders, correct failures."""

from __future__ import annotations

import unicodedata

import pytest

from messages import LANGUAGES, MessageError, catalogue, channel_name, placeholders, t


def test_every_key_exists_in_every_language_with_the_same_fields() -> None:
    reference = catalogue("vi")
    for lang in LANGUAGES:
        other = catalogue(lang)
        assert set(other) == set(reference), f"{lang}: {sorted(set(other) ^ set(reference))}"
        for key, template in reference.items():
            assert placeholders(other[key]) == placeholders(template), f"{lang}: {key}"


def test_texts_are_nfc() -> None:
    for lang in LANGUAGES:
        for key, text in catalogue(lang).items():
            assert unicodedata.normalize("NFC", text) == text, key


def test_unknown_key_and_wrong_fields_fail_loudly() -> None:
    with pytest.raises(MessageError, match="unknown message key"):
        t("residents.no_such_key")
    with pytest.raises(MessageError, match="fields"):
        t("residents.group_set")
    with pytest.raises(MessageError, match="fields"):
        t("residents.stopped", extra="x")


def test_vietnamese_is_the_default() -> None:
    assert t("residents.stopped").startswith("Bạn đã dừng nhận tin")
    assert t("residents.stopped", "en").startswith("You will no longer")


def test_channels_have_names_in_words() -> None:
    assert [channel_name(c, "vi") for c in ("telegram", "zalo", "zalo_oa")] == [
        "Telegram", "Zalo", "Zalo OA",
    ]  # fmt: skip
    assert channel_name("console", "en") == "Console"
    assert channel_name("matrix", "vi") == "matrix"  # not in the catalogue: its id
