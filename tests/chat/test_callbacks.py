"""The typed callback-data codec: pack/unpack, the 64-byte limit, stale and malformed data."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import pytest

from bot.chat.callbacks import CallbackData, CallbackDataError, prefix_of
from bot.residents.buttons import (
    Answer,
    DeleteButton,
    GroupPage,
    GroupPick,
    GroupSkip,
    LanguageButton,
    MenuAction,
    MenuButton,
    SloganGroupButton,
)


class FormButton(CallbackData, prefix="rp", sep="|"):
    """How the report form's buttons (`rp:f|<draft>|<nonce>|<action>`) fit the codec."""

    tag: Literal["f"] = "f"
    draft: str
    nonce: int
    action: str


class Colour(StrEnum):
    RED = "red"


class Everything(CallbackData, prefix="x"):
    text: str
    number: int
    flag: bool
    colour: Colour


def test_the_residents_buttons_keep_their_wire_forms() -> None:
    assert LanguageButton(code="vi").pack() == "lang:vi"
    assert GroupPick(index=3).pack() == "grp:3"
    assert GroupSkip().pack() == "grp:skip"
    assert GroupPage(page=2).pack() == "grp:p:2"
    assert SloganGroupButton(group_id="g1").pack() == "sg:g1"
    assert DeleteButton(answer=Answer.YES, nonce="ab12cd34").pack() == "del:yes:ab12cd34"
    assert MenuButton(action=MenuAction.HELP).pack() == "menu:help"


def test_unpack_round_trips_every_field_type() -> None:
    value = Everything(text="a b", number=-7, flag=True, colour=Colour.RED)
    assert value.pack() == "x:a b:-7:1:red"
    assert Everything.unpack(value.pack()) == value
    assert Everything.unpack("x:a:7:0:red") == Everything(
        text="a", number=7, flag=False, colour=Colour.RED
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "x",
        "y:a:7:1:red",  # another prefix
        "x:a:7:1",  # a field missing
        "x:a:7:1:red:more",  # one too many
        "x:a:seven:1:red",  # not a number
        "x:a:7:yes:red",  # not a flag
        "x:a:7:1:blue",  # not a colour
        "x:" + "a" * 70 + ":7:1:red",  # longer than any button can carry
    ],
)
def test_stale_or_malformed_data_unpacks_to_none(data: str | None) -> None:
    assert Everything.unpack(data) is None


def test_classes_sharing_a_prefix_tell_their_data_apart() -> None:
    assert GroupPick.unpack("grp:skip") is None
    assert GroupSkip.unpack("grp:skip") == GroupSkip()
    assert GroupPage.unpack("grp:p:2") == GroupPage(page=2)
    assert GroupPage.unpack("grp:p2") is None  # the old page button: answered as stale
    assert GroupPick.unpack("grp:p:2") is None


def test_the_report_forms_buttons_can_be_expressed() -> None:
    button = FormButton(draft="Zx9_ab", nonce=3, action="e3")
    assert button.pack() == "rp:f|Zx9_ab|3|e3"
    assert FormButton.unpack("rp:f|Zx9_ab|3|e3") == button
    assert FormButton.unpack("rp:g|Zx9_ab|3|e3") is None
    assert prefix_of(button.pack()) == "rp"


def test_packing_checks_the_64_byte_limit_and_separators() -> None:
    assert len(LanguageButton(code="v" * 59).pack().encode()) == 64
    with pytest.raises(CallbackDataError, match="64 bytes"):
        LanguageButton(code="v" * 60).pack()
    with pytest.raises(CallbackDataError, match="64 bytes"):
        LanguageButton(code="ệ" * 20).pack()  # 60 bytes of UTF-8 in 20 characters
    with pytest.raises(CallbackDataError, match="separator"):
        SloganGroupButton(group_id="a:b").pack()
    with pytest.raises(CallbackDataError, match="separator"):
        FormButton(draft="a|b", nonce=1, action="e1").pack()


def test_a_prefix_must_be_usable() -> None:
    with pytest.raises(ValueError, match="prefix"):

        class Bad(CallbackData, prefix="a:b"):
            value: str
