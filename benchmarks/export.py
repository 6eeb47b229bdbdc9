"""Export: sum the reports of 100 agencies and write every file of the summed report.

Each agency sends, through the reporting service, three rows in each tally table, a budget and
three texts; two versions for one agency in ten. Then the summary is read and rendered once per
format; the time covers reading and summing (once per format, as the chat command would) and
rendering. `--out DIR` keeps the files.

    python -m benchmarks.export --agencies 100 [--db postgres] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks.harness import database, say, setup_logging, workdir
from bot.coordinators.export.files import FORMATS, export_report
from bot.domain.campaign import Agency, AgencyType, CampaignPack, Deadline
from bot.domain.forms import FormData, Row
from bot.reporting.reports import submit_report
from bot.reporting.repository import bind_official
from bot.storage.db import Database
from messages.packs import load_pack

SENT_AT = datetime(2025, 12, 10, 2, 0, tzinfo=UTC)
TYPES: list[AgencyType] = ["school", "health_station", "police", "front", "womens_union", "other"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--out", type=Path, default=None, help="keep the files in this folder")
    return parser.parse_args(argv)


def bench_pack(agencies: int) -> CampaignPack:
    """The Kỳ Lừa pack with `agencies` agencies: khối phố first, then other types."""
    data = load_pack("ky-lua-2025").model_dump()
    groups = min(agencies, 60)
    listed = [
        Agency(id=f"kp-{n}", name=f"Khối phố {n}", type="residential_group")
        for n in range(1, groups + 1)
    ]
    listed += [
        Agency(id=f"dv-{n}", name=f"Đơn vị số {n}", type=TYPES[n % len(TYPES)])
        for n in range(1, agencies - groups + 1)
    ]
    data["agencies"] = [a.model_dump() for a in listed]
    data["deadlines"] = [
        Deadline(id="thang-hanh-dong", title="Báo cáo", due=date(2025, 12, 18)).model_dump()
    ]
    return CampaignPack.model_validate(data)


def report(pack: CampaignPack, rng: random.Random) -> FormData:
    """Three rows in each table, a budget, three texts."""
    assert pack.report_form is not None
    tables: dict[str, list[Row]] = {}
    for section in (s for s in pack.report_form.sections if s.kind == "table"):
        tables[section.id] = [
            {
                f.id: rng.choice(f.choices).id if f.type == "choice" else rng.randint(0, 3000)
                for f in section.fields
            }
            for _ in range(3)
        ]
    texts = "Nhân dân hưởng ứng tích cực; cần thêm tài liệu bằng tiếng dân tộc. " * 4
    values: dict[str, Row] = {
        "budget": {"state_budget": rng.randint(0, 40) * 500_000, "mobilised": 2_000_000},
        "assessment": {"results": texts, "difficulties": texts, "recommendations": texts},
    }
    return FormData(tables=tables, values=values)


async def seed(db: Database, pack: CampaignPack) -> None:
    """Every agency reports once; one in ten twice."""
    rng = random.Random(2025)
    async with db.session() as session:
        for index, agency in enumerate(pack.agencies):
            official, _ = await bind_official(
                session,
                channel="telegram",
                chat_id=f"bench-{index}",
                role="official",
                agency_id=agency.id,
                lang="vi",
                now=SENT_AT,
            )
            for version in range(2 if index % 10 == 0 else 1):
                await submit_report(
                    session,
                    official=official,
                    deadline=pack.deadlines[0],
                    data=report(pack, rng),
                    now=SENT_AT + timedelta(minutes=version),
                )


async def main(args: argparse.Namespace) -> str:
    """Seed, export every format, return the RESULT line."""
    pack = bench_pack(args.agencies)
    with workdir() as tmp:
        async with database(args.db, Path(tmp)) as db:
            await seed(db, pack)
            say(f"{len(pack.agencies)} agencies reported")
            sizes: dict[str, int] = {}
            timings: dict[str, float] = {}
            for fmt in FORMATS:
                started = time.perf_counter()
                file = await export_report(db, pack, fmt, now=SENT_AT + timedelta(days=10))
                timings[fmt] = time.perf_counter() - started
                sizes[fmt] = len(file.content)
                say(f"{fmt}: {sizes[fmt]} bytes in {timings[fmt]:.3f} s")
                if args.out is not None:
                    args.out.mkdir(parents=True, exist_ok=True)
                    (args.out / file.filename).write_bytes(file.content)
    return (
        f"RESULT export agencies={len(pack.agencies)} db={args.db} "
        f"seconds={sum(timings.values()):.3f} "
        + " ".join(f"{fmt}_seconds={timings[fmt]:.3f}" for fmt in FORMATS)
        + " "
        + " ".join(f"{fmt}_bytes={sizes[fmt]}" for fmt in FORMATS)
    )


if __name__ == "__main__":
    setup_logging()
    print(asyncio.run(main(parse_args())))
