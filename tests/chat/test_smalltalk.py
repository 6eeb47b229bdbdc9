"""Greetings and thanks are recognised by the whole message, accent-folded, in every language."""

from __future__ import annotations

import pytest

from bot.chat.smalltalk import is_small_talk


@pytest.mark.parametrize(
    "text", ["xin chào", "Xin chao!", "alo", "A lô", "Cảm ơn!", "cam on a", "hello", "Thank you."]
)
def test_greetings_and_thanks_are_small_talk(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize(
    "text",
    ["", "Xin chào bà con, buổi lễ đông vui.", "cảm ơn sự phối hợp của các đoàn thể", "có", "12"],
)
def test_an_answer_that_mentions_a_greeting_is_not(text: str) -> None:
    assert not is_small_talk(text)
