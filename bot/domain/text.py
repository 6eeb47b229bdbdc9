"""Text helpers: NFC normalisation, accent folding for matching, splitting long messages.

Phones often send Vietnamese in NFD (base letter + combining marks); everything that enters the core
goes through `normalize_text`, and matching of typed words goes through `fold`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache

# Message length limits of the messengers (characters); text longer than this is split.
TELEGRAM_MAX_TEXT = 4096
ZALO_MAX_TEXT = 2000

_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}
_KEEP_CONTROL = {"\n", "\t"}


def normalize_text(text: str) -> str:
    """NFC, without control characters (newlines and tabs kept), stripped."""
    text = unicodedata.normalize("NFC", text)
    cleaned = "".join(
        ch for ch in text if ch in _KEEP_CONTROL or unicodedata.category(ch) not in _CONTROL
    )
    return cleaned.strip()


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form for matching («Quay lại» → «quay lai»)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(bare.lower().split())


def fold_words(text: str) -> str:
    """`fold` keeping only letters, digits and single spaces («Trang sau ›» → «trang sau»)."""
    kept = "".join(ch if ch.isalnum() else " " for ch in fold(text))
    return " ".join(kept.split())


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` chars, on paragraph, line, then word breaks."""
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > limit // 4:
                break
        if cut <= limit // 4:
            cut = limit
            chunks.append(rest[:cut])
            rest = rest[cut:]
        else:
            chunks.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks


@cache
def _collator() -> object:
    import icu

    return icu.Collator.createInstance(icu.Locale("vi"))


def vi_sort_key(text: str) -> bytes:
    """ICU sort key for Vietnamese order (A Ă Â B C D Đ …), not code-point order."""
    collator = _collator()
    key: bytes = collator.getSortKey(text)  # type: ignore[attr-defined]
    return key


_DIGITS = re.compile(r"(\d+)")


def name_order(name: str) -> tuple[tuple[bytes, int], ...]:
    """Vietnamese order with numbers as numbers: «Khối phố 2» before «Khối phố 10»."""
    return tuple(
        (b"", int(chunk)) if chunk.isdigit() else (vi_sort_key(chunk), 0)
        for chunk in _DIGITS.split(name)
        if chunk
    )


def closest(text: str, names: list[str], limit: int = 5) -> list[str]:
    """The names most like `text`, ignoring accents, case and spacing (best first): names that
    contain the typed words, then difflib's nearest spellings."""
    wanted = fold_words(text)
    if not wanted:
        return []
    folded = {name: fold_words(name) for name in names}
    containing = [n for n, f in folded.items() if wanted in f or f in wanted]
    by_fold: dict[str, list[str]] = {}
    for name, key in folded.items():
        by_fold.setdefault(key, []).append(name)
    near = difflib.get_close_matches(wanted, list(by_fold), n=limit, cutoff=0.5)
    found = containing + [n for key in near for n in by_fold[key] if n not in containing]
    return found[:limit]
