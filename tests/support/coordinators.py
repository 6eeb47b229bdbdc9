"""Submissions for the coordinator's tests, made through the real reporting service, and the
sums the files must show, computed independently from what was submitted."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.campaign import CampaignPack, ReportForm
from bot.domain.forms import FormData, Row
from bot.reporting import reports as service
from bot.reporting import repository as repo
from bot.reporting.reports import name_order
from bot.storage.db import Database

# 10/12/2025 09:00 Vietnam time; the test packs' deadline is «before 18/12/2025».
BEFORE = datetime(2025, 12, 10, 2, 0, tzinfo=UTC)
LATE = datetime(2025, 12, 19, 2, 0, tzinfo=UTC)
TABLES = ("activities", "media", "products")


def random_report(form: ReportForm, rng: random.Random, *, empty_tables: bool = False) -> FormData:
    """A report with 0-3 rows per table, a budget and the three texts (some blank)."""
    tables: dict[str, list[Row]] = {}
    for section in (s for s in form.sections if s.kind == "table"):
        rows = []
        for _ in range(0 if empty_tables else rng.randint(0, 3)):
            row: Row = {}
            for f in section.fields:
                if f.type == "choice":
                    row[f.id] = rng.choice(f.choices).id
                else:
                    row[f.id] = rng.randint(0, 2_500)
            rows.append(row)
        tables[section.id] = rows
    values: dict[str, Row] = {
        "budget": {
            "state_budget": rng.choice([None, rng.randint(0, 50) * 500_000]),
            "mobilised": rng.choice([None, rng.randint(0, 20) * 1_250_000]),
        },
        "assessment": {
            "results": f"Kết quả {rng.randint(1, 999)}: người dân hưởng ứng tích cực.",
            "difficulties": rng.choice([None, "Thiếu kinh phí in ấn."]),
            "recommendations": rng.choice([None, "Đề nghị hỗ trợ tài liệu tiếng dân tộc."]),
        },
    }
    return FormData(tables=tables, values=values)


@dataclass
class Submitted:
    """What was sent, per agency id: every version in order (the last one counts)."""

    versions: dict[str, list[FormData]] = field(default_factory=dict)
    late: set[str] = field(default_factory=set)

    def latest(self, pack: CampaignPack) -> list[tuple[str, FormData]]:
        """(agency name, counting version), in Vietnamese order of names."""
        names = {a.id: a.name for a in pack.agencies}
        pairs = [(names[agency], data[-1]) for agency, data in self.versions.items()]
        return sorted(pairs, key=lambda pair: name_order(pair[0]))

    def sums(self, pack: CampaignPack, table: str) -> tuple[int, int, int]:
        """(count, men, women) of one table over the counting versions."""
        count_field = "sessions" if table == "activities" else "quantity"
        total = [0, 0, 0]
        for _, data in self.latest(pack):
            for row in data.tables.get(table, []):
                for i, key in enumerate((count_field, "male", "female")):
                    value = row.get(key)
                    total[i] += value if isinstance(value, int) else 0
        return total[0], total[1], total[2]

    def budget(self, pack: CampaignPack) -> tuple[int, int]:
        """(state budget, mobilised) summed."""
        total = [0, 0]
        for _, data in self.latest(pack):
            for i, key in enumerate(("state_budget", "mobilised")):
                value = data.values["budget"].get(key)
                total[i] += value if isinstance(value, int) else 0
        return total[0], total[1]


async def submit(
    db: Database, pack: CampaignPack, agency_id: str, data: FormData, *, now: datetime
) -> None:
    """Bind an official of the agency (once) and submit `data` through the reporting service."""
    async with db.session() as session:
        official = await repo.get_official(session, channel="telegram", chat_id=f"o-{agency_id}")
        if official is None:
            official, _ = await repo.bind_official(
                session,
                channel="telegram",
                chat_id=f"o-{agency_id}",
                role="official",
                agency_id=agency_id,
                lang="vi",
                now=now,
            )
        await service.submit_report(
            session, official=official, deadline=pack.deadlines[0], data=data, now=now
        )


async def submit_many(
    db: Database, pack: CampaignPack, *, seed: int, late: int = 1, amended: int = 2
) -> Submitted:
    """Every other expected agency sends; `amended` of them send a second version before the
    deadline; `late` others send after it."""
    assert pack.report_form is not None
    rng = random.Random(seed)
    done = Submitted()
    expected = service.reporting_agencies(pack)
    senders = expected[::2]
    for index, agency in enumerate(senders):
        when = BEFORE + timedelta(minutes=index)
        data = random_report(pack.report_form, rng)
        await submit(db, pack, agency.id, data, now=when)
        done.versions[agency.id] = [data]
        if index < amended:
            second = random_report(pack.report_form, rng)
            await submit(db, pack, agency.id, second, now=when + timedelta(hours=1))
            done.versions[agency.id].append(second)
    for agency in expected[1::2][:late]:
        data = random_report(pack.report_form, rng)
        await submit(db, pack, agency.id, data, now=LATE)
        done.versions[agency.id] = [data]
        done.late.add(agency.id)
    return done
