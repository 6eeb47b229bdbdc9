"""Missing agencies grouped by type, so that 47 khối phố fit in one line.

«Khối phố: 45/47 chưa gửi — trừ 3, 12»: when every agency of a type is named «<prefix> <N>» with
one prefix, only the numbers are shown (numerically sorted), and the shorter of the two lists
(those missing, or those that sent) is written. Other types list each missing agency on its own
line, so nothing is lost when a long message is split on lines.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.domain.campaign import Agency
from bot.domain.text import vi_sort_key
from bot.reporting.reports import name_order
from messages import t

_NUMBERED = re.compile(r"^(.*\S)\s+(\d+)$")


@dataclass(frozen=True, slots=True)
class TypeGap:
    """The agencies of one type that owe a report, and which of them have not sent it."""

    type: str
    label: str  # the common prefix («Khối phố») when numbered, else the type's name
    total: int
    missing: tuple[str, ...]  # names (numbers only when `numbered`), in Vietnamese order
    sent: tuple[str, ...]
    numbered: bool


def _numbered_prefix(names: Sequence[str]) -> str | None:
    prefixes = set()
    for name in names:
        match = _NUMBERED.match(name)
        if match is None:
            return None
        prefixes.add(match.group(1))
    return prefixes.pop() if len(prefixes) == 1 else None


def group_gaps(
    expected: Sequence[Agency], missing_ids: Collection[str], lang: str
) -> list[TypeGap]:
    """One `TypeGap` per agency type with a missing agency, in Vietnamese order of what is shown."""
    by_type: dict[str, list[Agency]] = {}
    for agency in expected:
        by_type.setdefault(agency.type, []).append(agency)
    gaps = []
    for kind, agencies in by_type.items():
        agencies = sorted(agencies, key=lambda a: name_order(a.name))
        missing = [a.name for a in agencies if a.id in missing_ids]
        if not missing:
            continue
        sent = [a.name for a in agencies if a.id not in missing_ids]
        prefix = _numbered_prefix([a.name for a in agencies]) if len(agencies) > 1 else None
        if prefix is not None:
            missing = [n[len(prefix) :].strip() for n in missing]
            sent = [n[len(prefix) :].strip() for n in sent]
        label = prefix or t(f"agencies.type.{kind}", lang)
        gaps.append(
            TypeGap(kind, label, len(agencies), tuple(missing), tuple(sent), prefix is not None)
        )
    # a type with one agency shows that agency's name: it sorts by it
    return sorted(gaps, key=lambda g: vi_sort_key(g.missing[0] if g.total == 1 else g.label))


def gap_lines(gaps: Sequence[TypeGap], lang: str) -> list[str]:
    """The gaps as bullet lines: one per numbered type, one per agency otherwise."""
    lines = []
    for gap in gaps:
        fields = {"label": gap.label, "missing": len(gap.missing), "total": gap.total}
        if gap.total == 1:
            lines.append(t("agencies.gaps.single", lang, name=gap.missing[0]))
        elif not gap.numbered:
            lines.append(t("agencies.gaps.head", lang, **fields))
            lines += [t("agencies.gaps.item", lang, name=name) for name in gap.missing]
        elif not gap.sent:
            lines.append(t("agencies.gaps.all", lang, **fields))
        elif len(gap.sent) < len(gap.missing):
            lines.append(t("agencies.gaps.except", lang, names=", ".join(gap.sent), **fields))
        else:
            lines.append(t("agencies.gaps.only", lang, names=", ".join(gap.missing), **fields))
    return lines
