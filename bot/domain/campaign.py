"""The campaign pack model: one plan's theme, window, slogans, posts, agencies, deadlines, form.

Pure data and validation; loading from TOML (with file and line numbers) lives in messages/packs.py.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.clock import VN_TZ
from bot.domain.text import ZALO_MAX_TEXT, fold

AgencyType = Literal[
    "office",  # ward/commune office or department (phòng, văn phòng)
    "service_center",  # public service centre (trung tâm dịch vụ công ích …)
    "school",
    "health_station",
    "police",
    "womens_union",
    "front",  # Fatherland Front and mass organisations (MTTQ và đoàn thể)
    "residential_group",  # khối phố / tổ dân phố / thôn
    "other",
]


Loc = tuple[str | int, ...]


class PackIssues(ValueError):  # a ValueError, so pydantic reports it as usual
    """Cross-field problems, each with its place relative to the model (or field) that checks it.

    Raised inside validators: pydantic keeps the exception in the error's `ctx["error"]`, so the
    pack loader can point at the exact key (file and line) instead of the whole table.
    """

    def __init__(self, issues: list[tuple[Loc, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(message for _, message in issues))


def _raise_issues(issues: list[tuple[Loc, str]]) -> None:
    if issues:
        raise PackIssues(issues)


def _repeated_ids(ids: list[str], what: str, key: str = "id") -> list[tuple[Loc, str]]:
    """One issue per repeated id, located at the later entry."""
    seen: set[str] = set()
    issues: list[tuple[Loc, str]] = []
    for index, value in enumerate(ids):
        if value in seen:
            issues.append(((index, key), f"{what} {value!r} is given twice"))
        seen.add(value)
    return issues


def in_lang(lang: str, vietnamese: str, english: str) -> str:
    """The pack's English text for English readers when it has one; Vietnamese otherwise."""
    return english if lang == "en" and english else vietnamese


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_hhmm(value: str) -> time:
    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"{value!r} is not a time of day written HH:MM")
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day (00:00-23:59)")
    return time(hour, minute)


class Delivery(_Model):
    """When bulk messages may go out (Vietnam time)."""

    hour: str = "07:30"
    quiet_start: str = "21:00"
    quiet_end: str = "07:00"

    @field_validator("hour", "quiet_start", "quiet_end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _parse_hhmm(value)
        return value

    @property
    def hour_time(self) -> time:
        """The default delivery time of day."""
        return _parse_hhmm(self.hour)

    def is_quiet(self, local: time) -> bool:
        """True when `local` (Vietnam wall-clock time) falls in quiet hours."""
        start, end = _parse_hhmm(self.quiet_start), _parse_hhmm(self.quiet_end)
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end


class SloganGroup(_Model):
    """One of the plan's slogan groups (seed 002 §II.3 a, b, c), verbatim."""

    id: str = Field(min_length=1, max_length=16)
    title: str = Field(min_length=1)
    title_en: str = ""
    slogans: list[str] = Field(min_length=1)  # official Vietnamese text; never translated


class DailyPost(_Model):
    """One awareness post; `day` 1 is the window's first day."""

    day: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=ZALO_MAX_TEXT)
    text_en: str = Field(default="", max_length=ZALO_MAX_TEXT)


class Hotline(_Model):
    """A help line residents can call."""

    name: str = Field(min_length=1)
    name_en: str = ""
    number: str = Field(min_length=2, max_length=32)
    note: str = ""
    note_en: str = ""


class TrustedAddress(_Model):
    """A community «địa chỉ tin cậy» or safe house, as the ward publishes it."""

    name: str = Field(min_length=1)
    name_en: str = ""
    where: str = ""
    contact: str = ""


class ResidentialGroups(_Model):
    """The residential groups residents pick from (khối phố / tổ dân phố / thôn)."""

    kind: str = Field(min_length=1)  # e.g. "khối phố"
    names: list[str] = Field(default_factory=list)
    count: int | None = Field(default=None, ge=1, le=500)  # "<Kind> 1..count" if no names

    @model_validator(mode="after")
    def _some(self) -> ResidentialGroups:
        if not self.names and self.count is None:
            raise ValueError("give either names or count")
        if len(set(self.names)) != len(self.names):
            raise ValueError("residential group names repeat")
        return self

    def all_names(self) -> list[str]:
        """Every group name, generated from `count` when no names are listed."""
        if self.names:
            return list(self.names)
        assert self.count is not None
        label = self.kind[:1].upper() + self.kind[1:]
        return [f"{label} {n}" for n in range(1, self.count + 1)]


class Agency(_Model):
    """An agency that owes a report (or coordinates).

    `reports` defaults to True, except for the campaign's focal office (the agency named
    `campaign.focal_agency`, optionally followed by «phường»/«xã»), which receives the reports:
    it owes one only if its entry says `reports = true`.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    name: str = Field(min_length=1)
    type: AgencyType
    reports: bool = True


def _names_focal(name: str, focal: str) -> bool:
    """True for «Phòng Văn hóa - Xã hội» and «… phường» when the focal office is the first."""
    folded = fold(name)
    return folded == focal or folded.startswith(focal + " ")


class Deadline(_Model):
    """A report deadline; `due` is the first day that is late (the plan says «trước ngày …»)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    title: str = Field(min_length=1)
    title_en: str = ""
    due: date
    reminder_days_before: list[int] = Field(default_factory=lambda: [3, 1, 0])
    reminder_hour: str = "08:00"
    escalate: bool = True

    @field_validator("reminder_days_before")
    @classmethod
    def _offsets(cls, value: list[int]) -> list[int]:
        if any(v < 0 or v > 60 for v in value):
            raise ValueError("reminder offsets are days before the deadline, 0-60")
        return sorted(set(value), reverse=True)

    @field_validator("reminder_hour")
    @classmethod
    def _hour(cls, value: str) -> str:
        _parse_hhmm(value)
        return value

    @property
    def due_at(self) -> datetime:
        """The moment a submission becomes late: 00:00 Vietnam time on `due`."""
        return datetime.combine(self.due, time(0, 0), tzinfo=VN_TZ)


TargetMeasure = Literal["posts", "groups_reached"]


class Target(_Model):
    """A numeric target the plan sets (seed 004), for the coordinator's view.

    `measure` names what Loa counts from its own records to show progress: `posts` (daily posts
    delivered in the period), `groups_reached` (% of residential groups with a subscriber who
    received a post in the period). Targets without one are listed, not measured.
    """

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    text_en: str = ""
    value: float = Field(ge=0)
    unit: str = ""
    period: Literal["quarter", "year", "month", "campaign"] = "year"
    measure: TargetMeasure | None = None


# ---- the report form ---------------------------------------------------------------------------

FieldType = Literal["choice", "count", "money", "text"]


class ChoiceOption(_Model):
    """One option of a choice field."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,31}$")
    label: str = Field(min_length=1)


class FormField(_Model):
    """One question of the report form."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str = Field(min_length=1)
    type: FieldType
    required: bool = True
    min: int | None = None
    max: int | None = None
    typical_max: int | None = None  # above this, ask for confirmation instead of refusing
    max_length: int | None = Field(default=None, ge=1, le=10000)
    choices: list[ChoiceOption] = Field(default_factory=list)
    hint: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field {self.id}: a choice field needs choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"field {self.id}: only a choice field has choices")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"field {self.id}: min is above max")
        _raise_issues(
            [
                (("choices", *loc), message)
                for loc, message in _repeated_ids([c.id for c in self.choices], "choice id")
            ]
        )
        return self


class FormSection(_Model):
    """A section: a table of repeatable rows, or a single set of fields."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    title: str = Field(min_length=1)
    kind: Literal["table", "fields"]
    row_label: str = ""  # for tables: what one row is («hoạt động», «sản phẩm»)
    max_rows: int = Field(default=30, ge=1, le=200)
    fields: list[FormField] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, value: list[FormField]) -> list[FormField]:
        _raise_issues(_repeated_ids([f.id for f in value], "field id"))
        return value


class CrossCheck(_Model):
    """A rule across fields of one row or section."""

    kind: Literal["sum_equals", "requires_positive"]
    section: str
    fields: list[str] = Field(min_length=1)  # sum_equals: parts; requires_positive: if any > 0 …
    target: str  # sum_equals: the total field; requires_positive: … this must be > 0


class QuickForm(_Model):
    """A one-line shortcut: `/nhanh <alias> n1 n2 …` fills one table row."""

    alias: str = Field(pattern=r"^[a-z0-9]{2,32}$")
    section: str
    preset: dict[str, str] = Field(default_factory=dict)  # field id → choice id
    fields: list[str] = Field(min_length=1)  # the numbers, in order


class ReportForm(_Model):
    """The report an agency owes, declared as data."""

    title: str = Field(min_length=1)
    draft_ttl_hours: int = Field(default=72, ge=1, le=24 * 60)
    sections: list[FormSection] = Field(min_length=1)
    checks: list[CrossCheck] = Field(default_factory=list)
    quick: list[QuickForm] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> ReportForm:
        issues: list[tuple[Loc, str]] = [
            (("sections", *loc), message)
            for loc, message in _repeated_ids([s.id for s in self.sections], "section id")
        ]
        sections: dict[str, FormSection] = {}
        for declared in self.sections:
            sections.setdefault(declared.id, declared)  # a repeat is reported above
        for index, check in enumerate(self.checks):
            section = sections.get(check.section)
            if section is None:
                issues.append((("checks", index, "section"), f"unknown section {check.section!r}"))
                continue
            names = {f.id for f in section.fields}
            for name in [*check.fields, check.target]:
                if name not in names:
                    issues.append((("checks", index), f"unknown field {check.section}.{name}"))
        for index, quick in enumerate(self.quick):
            section = sections.get(quick.section)
            if section is None or section.kind != "table":
                issues.append(
                    (
                        ("quick", index, "section"),
                        f"quick form {quick.alias!r}: {quick.section!r} is not a table",
                    )
                )
                continue
            fields = {f.id: f for f in section.fields}
            for name in [*quick.fields, *quick.preset]:
                if name not in fields:
                    issues.append(
                        (("quick", index), f"quick form {quick.alias!r}: unknown field {name!r}")
                    )
            for name, choice in quick.preset.items():
                if name in fields and choice not in {c.id for c in fields[name].choices}:
                    issues.append(
                        (
                            ("quick", index, "preset", name),
                            f"quick form {quick.alias!r}: {name} has no choice {choice!r}",
                        )
                    )
        issues += [
            (("quick", *loc), message)
            for loc, message in _repeated_ids([q.alias for q in self.quick], "alias", "alias")
        ]
        _raise_issues(issues)
        return self


# ---- the pack ---------------------------------------------------------------------------------


class CampaignInfo(_Model):
    """Who runs the campaign, when, and under which theme."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    locality: str = Field(min_length=1)
    province: str = ""
    year: int = Field(ge=2000, le=2100)
    title: str = Field(min_length=1)
    title_en: str = ""
    theme: str = Field(min_length=1)
    theme_en: str = ""
    start: date
    end: date
    focal_agency: str = Field(min_length=1)
    source: str = ""  # which plan this pack comes from
    note: str = ""  # what the plan asks of the channel (e.g. ethnic-minority languages)
    note_en: str = ""

    @model_validator(mode="after")
    def _window(self) -> CampaignInfo:
        if self.end < self.start:
            raise PackIssues(
                [
                    (
                        ("end",),
                        f"the window ends ({self.end:%d/%m/%Y}) before it starts "
                        f"({self.start:%d/%m/%Y})",
                    )
                ]
            )
        return self


class CampaignPack(_Model):
    """A whole campaign pack, validated."""

    campaign: CampaignInfo
    delivery: Delivery = Field(default_factory=Delivery)
    slogan_groups: list[SloganGroup] = Field(default_factory=list)
    daily_posts: list[DailyPost] = Field(min_length=1)
    hotlines: list[Hotline] = Field(min_length=1)
    trusted_addresses: list[TrustedAddress] = Field(default_factory=list)
    residential_groups: ResidentialGroups
    agencies: list[Agency] = Field(default_factory=list)
    deadlines: list[Deadline] = Field(default_factory=list)
    report_form: ReportForm | None = None
    targets: list[Target] = Field(default_factory=list)

    # Each list checks itself in a field validator (not one pack-wide validator) so that a broken
    # entry elsewhere in the pack does not hide these problems: pydantic reports them all at once.

    @field_validator("daily_posts")
    @classmethod
    def _posts_cover_window(cls, value: list[DailyPost], info: ValidationInfo) -> list[DailyPost]:
        issues = _repeated_ids([str(p.day) for p in value], "daily post for day", "day")
        campaign = info.data.get("campaign")
        if isinstance(campaign, CampaignInfo):
            days = (campaign.end - campaign.start).days + 1
            for index, post in enumerate(value):
                if post.day > days:
                    issues.append(
                        (
                            (index, "day"),
                            f"daily post for day {post.day} falls after the window ({days} days)",
                        )
                    )
            given = {p.day for p in value}
            missing = [d for d in range(1, days + 1) if d not in given]
            if missing:
                shown = ", ".join(
                    f"{d} ({campaign.start + timedelta(days=d - 1):%d/%m/%Y})" for d in missing[:10]
                )
                more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
                issues.append(((), f"no daily post for window day {shown}{more}"))
        _raise_issues(issues)
        return value

    @field_validator("agencies")
    @classmethod
    def _unique_agencies(cls, value: list[Agency], info: ValidationInfo) -> list[Agency]:
        _raise_issues(_repeated_ids([a.id for a in value], "agency id"))
        campaign = info.data.get("campaign")
        if not isinstance(campaign, CampaignInfo):
            return value
        # The focal office receives the reports: it owes none unless its entry says so.
        focal = fold(campaign.focal_agency)
        return [
            a.model_copy(update={"reports": False})
            if _names_focal(a.name, focal) and "reports" not in a.model_fields_set
            else a
            for a in value
        ]

    @field_validator("slogan_groups")
    @classmethod
    def _unique_groups(cls, value: list[SloganGroup]) -> list[SloganGroup]:
        _raise_issues(_repeated_ids([g.id for g in value], "slogan group id"))
        return value

    @field_validator("deadlines")
    @classmethod
    def _unique_deadlines(cls, value: list[Deadline]) -> list[Deadline]:
        _raise_issues(_repeated_ids([d.id for d in value], "deadline id"))
        return value

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, value: list[Target]) -> list[Target]:
        _raise_issues(_repeated_ids([t.id for t in value], "target id"))
        return value

    @model_validator(mode="after")
    def _coherent(self) -> CampaignPack:
        if self.deadlines and self.report_form is None:
            raise PackIssues([(("deadlines",), "the pack has deadlines but no report_form")])
        return self

    @property
    def window_days(self) -> int:
        """Number of days in the window, both ends included."""
        return (self.campaign.end - self.campaign.start).days + 1

    def day_date(self, day: int) -> date:
        """The calendar date of window day `day` (1-based)."""
        return self.campaign.start + timedelta(days=day - 1)

    def post_for(self, day: int) -> DailyPost | None:
        """The post planned for window day `day`, if any."""
        for post in self.daily_posts:
            if post.day == day:
                return post
        return None
