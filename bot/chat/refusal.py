"""One model for a refusal shown to a person: a message key and its fields, never finished text.

Use cases refuse in one of two ways, both carrying a `Refusal`: a function that returns a value
raises `Refused` (or a subclass naming the case), a function that returns an outcome puts the
refusal in it. Only the edge renders: the chat with `Turn.refuse` (in the person's language), the
command line with `Refusal.render("vi")`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from messages import DEFAULT_LANG, t


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why something was refused: a message key (e.g. "reports.amend_closed") and its fields."""

    key: str
    fields: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def with_fields(self, **more: object) -> Refusal:
        """The same refusal with fields only the edge knows (an agency's display name …)."""
        return Refusal(self.key, MappingProxyType({**self.fields, **more}))

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """The text in `lang`."""
        return t(self.key, lang, **self.fields)


class Refused(Exception):
    """A use case refused; `refusal` says why. `str()` is the Vietnamese text (for logs of the
    command line, which speaks Vietnamese)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.key)
        self.refusal = refusal

    def __str__(self) -> str:
        try:
            return self.refusal.render()
        except (KeyError, IndexError):  # a field only the edge adds is missing
            return self.refusal.key
