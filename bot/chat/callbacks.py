"""Typed button data: one codec for every button the bot offers.

A button's data is declared as a class with a prefix and typed fields, in the manner of aiogram's
`CallbackData`::

    class LanguageButton(CallbackData, prefix="lang"):
        code: str

    LanguageButton(code="vi").pack()          # "lang:vi"
    LanguageButton.unpack("lang:vi")          # LanguageButton(code="vi")
    LanguageButton.unpack("lang:vi:extra")    # None: stale or malformed

Wire format: `<prefix>:<field>{sep}<field>…` with `sep` ":" unless the class says otherwise (the
report form's buttons use "|": `rp:f|<draft>|<nonce>|<action>`). The router reads the prefix with
`prefix_of` and hands the turn to the handler registered for that class; the handler unpacks.
Field types: `str`, `int`, `bool` (as "1"/"0"), `StrEnum` subclasses and `Literal[...]` of
strings (a fixed tag such as the "f" of the form's buttons). The 64-byte limit of
Telegram's callback_data (https://core.telegram.org/bots/api#inlinekeyboardbutton) is checked
here and only here, when packing; unpacking never raises: data that does not fit the class
(an old button, a forged one) gives None and the caller answers with the stale-button message.
"""

from __future__ import annotations

import dataclasses
import typing
from enum import StrEnum
from typing import Any, ClassVar, Literal, Self

MAX_BYTES = 64
PREFIX_SEP = ":"


class CallbackDataError(ValueError):
    """Packing failed: a field holds the separator, or the data exceeds 64 bytes."""


def prefix_of(data: str) -> str:
    """The prefix of packed data (the text before the first ':')."""
    return data.split(PREFIX_SEP, 1)[0]


@typing.dataclass_transform(frozen_default=True, kw_only_default=True)
class CallbackData:
    """Base of every button-data class; subclasses name their prefix and declare fields."""

    __prefix__: ClassVar[str]
    __sep__: ClassVar[str]
    __types__: ClassVar[dict[str, Any] | None]

    def __init_subclass__(cls, *, prefix: str, sep: str = PREFIX_SEP, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix or PREFIX_SEP in prefix or sep in prefix:
            raise ValueError(f"bad callback prefix {prefix!r}")
        cls.__prefix__ = prefix
        cls.__sep__ = sep
        cls.__types__ = None
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def _types(cls) -> dict[str, Any]:
        if cls.__types__ is None:
            hints = typing.get_type_hints(cls)
            cls.__types__ = {f.name: hints[f.name] for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls.__types__

    def pack(self) -> str:
        """The wire form; raises CallbackDataError if it cannot travel as a button's data."""
        parts = []
        for name in self._types():
            value = getattr(self, name)
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            if self.__sep__ in text or (self.__sep__ != PREFIX_SEP and PREFIX_SEP in text):
                raise CallbackDataError(f"{type(self).__name__}.{name} holds a separator")
            parts.append(text)
        packed = self.__prefix__ + PREFIX_SEP + self.__sep__.join(parts)
        if len(packed.encode()) > MAX_BYTES:
            raise CallbackDataError(f"{type(self).__name__} packs to more than {MAX_BYTES} bytes")
        return packed

    @classmethod
    def unpack(cls, data: str | None) -> Self | None:
        """The button data as this class, or None when it is stale or malformed."""
        if data is None or len(data.encode()) > MAX_BYTES:
            return None
        head, found, body = data.partition(PREFIX_SEP)
        if not found or head != cls.__prefix__:
            return None
        types = cls._types()
        parts = body.split(cls.__sep__) if types else ([] if body == "" else [body])
        if len(parts) != len(types):
            return None
        values: dict[str, Any] = {}
        for (name, kind), text in zip(types.items(), parts, strict=True):
            value = _parse(kind, text)
            if value is None:
                return None
            values[name] = value
        return cls(**values)


def _parse(kind: Any, text: str) -> object | None:
    if kind is str:
        return text
    if kind is int:
        digits = text[1:] if text.startswith("-") else text
        return int(text) if digits.isascii() and digits.isdigit() else None
    if kind is bool:
        return {"1": True, "0": False}.get(text)
    if typing.get_origin(kind) is Literal:
        return text if text in typing.get_args(kind) else None
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        try:
            return kind(text)
        except ValueError:
            return None
    raise TypeError(f"unsupported callback field type {kind!r}")
