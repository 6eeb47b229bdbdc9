"""The campaign pack model: one plan's theme, window, slogans, posts, agencies, deadlines, form.

Pure data and validation; loading from TOML (with file and line numbers) lives in messages/packs.py.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.clock import VN_TZ
from bot.domain.pack_issues import (
    MAX_DEADLINE_AFTER_END,
    Issue,
    Loc,
    PackIssues,
    raise_issues,
    repeated_ids,
)
from bot.domain.report_form import (
    ChoiceOption,
    CrossCheck,
    FieldType,
    FormField,
    FormSection,
    QuickForm,
    ReportForm,
)
from bot.domain.text import ZALO_MAX_TEXT, fold

__all__ = [  # the form and issue types are part of the pack model's interface
    "ChoiceOption",
    "CrossCheck",
    "FieldType",
    "FormField",
    "FormSection",
    "Issue",
    "Loc",
    "PackIssues",
    "QuickForm",
    "ReportForm",
]

CampaignState = Literal["coming", "running", "over"]

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


def window_state(start: date, end: date, last_due: date | None, today: date) -> CampaignState:
    """coming, running or over on `today`; a campaign keeps running after its window until
    `last_due`, its last report deadline, so reports are still taken."""
    if today < start:
        return "coming"
    if today <= max(end, last_due or end):
        return "running"
    return "over"


def in_lang(lang: str, vietnamese: str, english: str) -> str:
    """The pack's English text for English readers when it has one; Vietnamese otherwise."""
    return english if lang == "en" and english else vietnamese


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_hhmm(value: str) -> time:
    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        text = f"{value!r} is not a time of day written HH:MM"
        raise PackIssues([((), Issue("time_format", text, value=value))])
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        text = f"{value!r} is not a time of day (00:00-23:59)"
        raise PackIssues([((), Issue("time_range", text, value=value))])
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

    @model_validator(mode="after")
    def _hour_outside_quiet(self) -> Delivery:
        if self.is_quiet(self.hour_time):
            text = (
                f"the delivery hour {self.hour} falls in the quiet hours "
                f"{self.quiet_start}-{self.quiet_end}, so no post can go out then "
                f"(they would wait until {self.quiet_end})"
            )
            issue = Issue(
                "delivery_quiet",
                text,
                hour=self.hour,
                quiet_start=self.quiet_start,
                quiet_end=self.quiet_end,
            )
            raise PackIssues([(("hour",), issue)])
        return self

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
    # at most 64 characters: a resident's group is stored by name (subscriber.group_code)
    names: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    count: int | None = Field(default=None, ge=1, le=500)  # "<Kind> 1..count" if no names
    # group name → its focal point for violence reports (seed 004), for the coordinator, and
    # given to a person in danger who picked that group
    focal_points: dict[str, str] = Field(default_factory=dict)
    # a group renamed since residents picked it: old name → its name now. Residents are stored
    # by group name, so `loa run` moves those who picked the old name (else they would be left
    # in a group no list shows, and the board would not count them)
    renamed: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _some(self) -> ResidentialGroups:
        if not self.names and self.count is None:
            raise PackIssues([((), Issue("groups_none", "give either names or count"))])
        issues = [(("names", *loc), m) for loc, m in repeated_ids(self.names, "group", None)]
        names = set(self.all_names())
        for name in self.focal_points:
            if name not in names:
                text = f"focal point for {name!r}, which is not a residential group"
                issues.append((("focal_points", name), Issue("focal_unknown", text, name=name)))
        issues += self._rename_issues(names)
        raise_issues(issues)
        return self

    def _rename_issues(self, names: set[str]) -> list[tuple[tuple[str, ...], Issue]]:
        issues: list[tuple[tuple[str, ...], Issue]] = []
        for old, new in self.renamed.items():
            if new not in names:
                text = f"{old!r} renamed to {new!r}, which is not a residential group"
                issues.append((("renamed", old), Issue("renamed_unknown", text, old=old, new=new)))
            elif old in names:
                text = f"{old!r} is renamed but still listed as a group"
                issues.append((("renamed", old), Issue("renamed_listed", text, old=old)))
        return issues

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
            text = "reminder offsets are days before the deadline, 0-60"
            raise PackIssues([((), Issue("reminder_offsets", text))])
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


# ---- the pack ---------------------------------------------------------------------------------


class CampaignInfo(_Model):
    """Who runs the campaign, when, and under which theme."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    locality: str = Field(min_length=1)
    province: str = ""
    year: int = Field(ge=2000, le=2100)
    title: str = Field(min_length=1)
    title_en: str = ""
    theme: str = ""  # the national theme of the year; empty only while `theme_pending`
    theme_en: str = ""
    # the year's national theme is not published yet (validated even when left out)
    theme_pending: bool = Field(default=False, validate_default=True)
    start: date
    end: date
    focal_agency: str = Field(min_length=1)
    source: str = ""  # which plan this pack comes from
    note: str = ""  # what the plan asks of the channel (e.g. ethnic-minority languages)
    note_en: str = ""

    # Field validators (not one model validator) so that each runs even when another field of
    # the table is broken: `check` then reports every problem at once.

    @field_validator("end")
    @classmethod
    def _window(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if isinstance(start, date) and value < start:
            text = f"the window ends ({value:%d/%m/%Y}) before it starts ({start:%d/%m/%Y})"
            issue = Issue(
                "window_backwards", text, end=f"{value:%d/%m/%Y}", start=f"{start:%d/%m/%Y}"
            )
            raise PackIssues([((), issue)])
        return value

    @field_validator("theme_pending")
    @classmethod
    def _theme_given(cls, value: bool, info: ValidationInfo) -> bool:
        if not value and info.data.get("theme") == "":
            text = "the theme is empty: write the year's national theme, or theme_pending = true"
            raise PackIssues([((), Issue("theme_missing", text))])
        return value

    def state_on(self, today: date, last_due: date | None = None) -> CampaignState:
        """coming, running or over on `today` (Vietnam date)."""
        return window_state(self.start, self.end, last_due, today)


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
        issues = repeated_ids([str(p.day) for p in value], "post_day", "day")
        campaign = info.data.get("campaign")
        if isinstance(campaign, CampaignInfo):
            days = (campaign.end - campaign.start).days + 1
            for index, post in enumerate(value):
                if post.day > days:
                    text = f"daily post for day {post.day} falls after the window ({days} days)"
                    issue = Issue("post_after_window", text, day=post.day, days=days)
                    issues.append(((index, "day"), issue))
            given = {p.day for p in value}
            missing = [d for d in range(1, days + 1) if d not in given]
            if missing:
                shown = ", ".join(
                    f"{d} ({campaign.start + timedelta(days=d - 1):%d/%m/%Y})" for d in missing[:10]
                )
                if len(missing) > 10:
                    shown += f" … (+{len(missing) - 10})"
                text = f"no daily post for window day {shown}"
                issues.append(((), Issue("posts_missing", text, shown=shown)))
        raise_issues(issues)
        return value

    @field_validator("agencies")
    @classmethod
    def _unique_agencies(cls, value: list[Agency], info: ValidationInfo) -> list[Agency]:
        raise_issues(repeated_ids([a.id for a in value], "agency"))
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
        raise_issues(repeated_ids([g.id for g in value], "slogan_group"))
        return value

    @field_validator("deadlines")
    @classmethod
    def _unique_deadlines(cls, value: list[Deadline], info: ValidationInfo) -> list[Deadline]:
        issues = repeated_ids([d.id for d in value], "deadline")
        campaign = info.data.get("campaign")
        if isinstance(campaign, CampaignInfo):
            latest = campaign.end + MAX_DEADLINE_AFTER_END
            for index, deadline in enumerate(value):
                due, start = f"{deadline.due:%d/%m/%Y}", f"{campaign.start:%d/%m/%Y}"
                if deadline.due <= campaign.start:
                    text = f"the deadline {due} is not after the window starts ({start})"
                    issue = Issue("deadline_early", text, due=due, start=start)
                    issues.append(((index, "due"), issue))
                elif deadline.due > latest:
                    end, limit = f"{campaign.end:%d/%m/%Y}", f"{latest:%d/%m/%Y}"
                    text = (
                        f"the deadline {due} is more than "
                        f"{MAX_DEADLINE_AFTER_END.days} days after the window ends ({end}); "
                        f"at the latest {limit}"
                    )
                    issue = Issue("deadline_late", text, due=due, end=end, latest=limit)
                    issues.append(((index, "due"), issue))
        raise_issues(issues)
        return value

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, value: list[Target]) -> list[Target]:
        raise_issues(repeated_ids([t.id for t in value], "target"))
        return value

    @model_validator(mode="after")
    def _coherent(self) -> CampaignPack:
        if self.deadlines and self.report_form is None:
            text = "the pack has deadlines but no report_form"
            raise PackIssues([(("deadlines",), Issue("deadlines_no_form", text))])
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
