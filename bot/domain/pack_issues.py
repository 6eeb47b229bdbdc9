"""Problems found while validating a campaign pack: located, coded, plain English.

Validators raise `PackIssues`; each issue is an `Issue` (its English text, a code and the values
it names) at a place relative to the model that checks it. The pack loader (messages/packs.py)
turns them into file:line problems and says each one in Vietnamese too.
"""

from __future__ import annotations

from datetime import timedelta

Loc = tuple[str | int, ...]

# How each kind of repeated id is named in the English text (the loader translates by `kind`).
_REPEATED_KINDS = {
    "agency": "agency id",
    "slogan_group": "slogan group id",
    "deadline": "deadline id",
    "target": "target id",
    "field": "field id",
    "choice": "choice id",
    "section": "section id",
    "alias": "alias",
    "post_day": "daily post for day",
    "group": "residential group",
}
# Deadlines later than this after the window's end are almost certainly a typo in the year.
MAX_DEADLINE_AFTER_END = timedelta(days=60)


class Issue(str):
    """A problem's plain English text that also carries a `code` and `fields`, so the pack loader
    can say the same thing in Vietnamese (messages/*/packcheck.toml, key `model.<code>`)."""

    code: str
    fields: dict[str, object]

    def __new__(cls, code: str, text: str, **fields: object) -> Issue:
        """The English `text` of the problem `code` with the values it names."""
        issue = super().__new__(cls, text)
        issue.code = code
        issue.fields = fields
        return issue


class PackIssues(ValueError):  # a ValueError, so pydantic reports it as usual
    """Cross-field problems, each with its place relative to the model (or field) that checks it.

    Raised inside validators: pydantic keeps the exception in the error's `ctx["error"]`, so the
    pack loader can point at the exact key (file and line) instead of the whole table.
    """

    def __init__(self, issues: list[tuple[Loc, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(message for _, message in issues))


def raise_issues(issues: list[tuple[Loc, str]]) -> None:
    """Raise PackIssues when there is any issue."""
    if issues:
        raise PackIssues(issues)


def repeated_ids(ids: list[str], kind: str, key: str | None = "id") -> list[tuple[Loc, str]]:
    """One issue per repeated id, located at the later entry."""
    seen: set[str] = set()
    issues: list[tuple[Loc, str]] = []
    for index, value in enumerate(ids):
        if value in seen:
            text = f"{_REPEATED_KINDS[kind]} {value!r} is given twice"
            loc: Loc = (index,) if key is None else (index, key)
            issues.append((loc, Issue("repeated", text, kind=kind, value=value)))
        seen.add(value)
    return issues
