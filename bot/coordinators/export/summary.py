"""The summed report: for one deadline, the latest version each agency sent, as rows and totals.

Tables follow the outline of seed 002 (ĐỀ CƯƠNG BÁO CÁO, III): one row per item an agency
reported, a total row. Budget per agency, the three text answers per agency, and who reported
when. An empty database gives empty tables and zero totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.coordinators import repository as records
from bot.coordinators.board import AgencyStatus, agency_statuses
from bot.domain.campaign import CampaignPack, Deadline, FormField, FormSection
from bot.domain.forms import FormData, Value
from bot.reporting.reports import current_deadline, deadline_by_id, name_order
from bot.storage.db import Database

MALE, FEMALE, LEVEL = "male", "female", "level"


class NoDeadline(LookupError):
    """The pack has no such deadline (or none at all)."""


@dataclass(frozen=True, slots=True)
class TallyRow:
    """One item an agency reported in a tally table."""

    agency: str
    agency_type: str
    item: str
    count: int
    male: int
    female: int
    level: str


@dataclass(frozen=True, slots=True)
class TallyTable:
    """One of the outline's three tables, summed."""

    section_id: str
    title: str
    item_header: str  # «Hoạt động», «Nội dung», «Sản phẩm»
    count_header: str  # «Số cuộc/đoàn», «Số lượng»
    people_header: str  # «Số người tham gia» or «Số người tiếp cận»
    rows: list[TallyRow]

    @property
    def total_count(self) -> int:
        """Sum of the count column."""
        return sum(r.count for r in self.rows)

    @property
    def total_male(self) -> int:
        """Sum of men."""
        return sum(r.male for r in self.rows)

    @property
    def total_female(self) -> int:
        """Sum of women."""
        return sum(r.female for r in self.rows)


@dataclass(frozen=True, slots=True)
class MoneyColumn:
    """A money field of the form (state budget, mobilised funds)."""

    field_id: str
    label: str


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """One agency's budget figures, VND, in the order of `ReportSummary.money_columns`."""

    agency: str
    amounts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """One agency's text answer to one question."""

    agency: str
    text: str


@dataclass(frozen=True, slots=True)
class Question:
    """A text question of the form and every agency's answer to it."""

    field_id: str
    label: str
    answers: list[Answer]


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """Everything the files show."""

    pack: CampaignPack
    deadline: Deadline
    generated_at: datetime
    tables: list[TallyTable]
    money_columns: list[MoneyColumn]
    budget: list[BudgetRow]
    questions: list[Question]
    statuses: list[AgencyStatus]

    def budget_totals(self) -> tuple[int, ...]:
        """Each money column summed over agencies."""
        columns = range(len(self.money_columns))
        return tuple(sum(row.amounts[i] for row in self.budget) for i in columns)


def pick_deadline(pack: CampaignPack, deadline_id: str | None, now: datetime) -> Deadline:
    """The named deadline, else the current one (the next not yet past, else the last)."""
    if deadline_id is None:
        deadline = current_deadline(pack, now)
    else:
        deadline = deadline_by_id(pack, deadline_id)
    if deadline is None:
        raise NoDeadline(deadline_id or "")
    return deadline


def _number(value: Value) -> int:
    return value if isinstance(value, int) else 0


def _label(field: FormField | None, value: Value) -> str:
    if field is None or value is None:
        return ""
    for choice in field.choices:
        if choice.id == value:
            return choice.label
    return str(value)


_Shape = tuple[FormField | None, FormField | None, FormField | None]


def _table_shape(section: FormSection) -> _Shape:
    """(item field, count field, level field) of a tally section."""
    item = next((f for f in section.fields if f.type == "choice" and f.id != LEVEL), None)
    count = next(
        (f for f in section.fields if f.type == "count" and f.id not in (MALE, FEMALE)), None
    )
    level = next((f for f in section.fields if f.id == LEVEL), None)
    return item, count, level


def _people_header(section: FormSection) -> str:
    male = next((f for f in section.fields if f.id == MALE), None)
    return male.label.split(":")[0].strip() if male is not None else ""


def summarise_data(
    pack: CampaignPack,
    deadline: Deadline,
    statuses: list[AgencyStatus],
    *,
    now: datetime,
) -> ReportSummary:
    """Sum the latest version of every agency that sent (pure: no database)."""
    form = pack.report_form
    sections = form.sections if form is not None else []
    sent = [
        (s, FormData.model_validate_json(s.report.latest.data_json))
        for s in statuses
        if s.report is not None
    ]
    sent.sort(key=lambda pair: name_order(pair[0].agency.name))
    tables = []
    for section in (s for s in sections if s.kind == "table"):
        item, count, level = _table_shape(section)
        rows = [
            TallyRow(
                agency=status.agency.name,
                agency_type=status.agency.type,
                item=_label(item, row.get(item.id) if item else None),
                count=_number(row.get(count.id)) if count else 0,
                male=_number(row.get(MALE)),
                female=_number(row.get(FEMALE)),
                level=_label(level, row.get(LEVEL)),
            )
            for status, data in sent
            for row in data.tables.get(section.id, [])
        ]
        tables.append(
            TallyTable(
                section_id=section.id,
                title=section.title,
                item_header=item.label if item else "",
                count_header=count.label if count else "",
                people_header=_people_header(section),
                rows=rows,
            )
        )
    field_sections = [s for s in sections if s.kind == "fields"]
    money = [
        (section.id, MoneyColumn(f.id, f.label))
        for section in field_sections
        for f in section.fields
        if f.type == "money"
    ]
    budget = [
        BudgetRow(
            status.agency.name,
            tuple(_number(data.values.get(sid, {}).get(col.field_id)) for sid, col in money),
        )
        for status, data in sent
    ]
    questions = [
        Question(
            f.id,
            f.label,
            [
                Answer(status.agency.name, str(text))
                for status, data in sent
                if (text := data.values.get(section.id, {}).get(f.id))
            ],
        )
        for section in field_sections
        for f in section.fields
        if f.type == "text"
    ]
    return ReportSummary(
        pack=pack,
        deadline=deadline,
        generated_at=now,
        tables=tables,
        money_columns=[col for _, col in money],
        budget=budget,
        questions=questions,
        statuses=statuses,
    )


async def summarise(
    db: Database, pack: CampaignPack, deadline: Deadline, *, now: datetime
) -> ReportSummary:
    """Read every agency's latest version for `deadline` and sum them."""
    async with db.session() as session:
        sent = await records.sent_reports(session, deadline_id=deadline.id)
    return summarise_data(pack, deadline, agency_statuses(pack, sent), now=now)
