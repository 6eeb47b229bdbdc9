"""Chit-chat recognised by the whole message: greetings and thanks («xin chào», «alo», «cảm ơn»,
«hello»). The phrases are data (messages/<lang>/smalltalk.toml); every language's list counts,
matched accent-folded and without punctuation, so «Xin chào!» and «xin chao» are the same."""

from __future__ import annotations

from functools import cache

from bot.domain.text import fold_words
from messages import LANGUAGES, t


@cache
def _phrases() -> frozenset[str]:
    return frozenset(
        folded
        for lang in LANGUAGES
        for phrase in t("smalltalk.greetings", lang).split("|")
        if (folded := fold_words(phrase))
    )


def is_small_talk(text: str) -> bool:
    """True when the whole message is a greeting or thanks, not an answer to anything."""
    folded = fold_words(text)
    return bool(folded) and folded in _phrases()
