"""Campaign test helpers: a pack over the 2025 window, subscribers, outbox rows, Vietnam times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import col, select

from bot.campaign.events import sweep_due
from bot.clock import VN_TZ, FakeClock
from bot.domain.campaign import (
    CampaignInfo,
    CampaignPack,
    DailyPost,
    Delivery,
    Hotline,
    ResidentialGroups,
)
from bot.storage.db import Database
from bot.storage.models.delivery import OutboxMessage
from bot.storage.models.events import CampaignEvent
from bot.storage.models.residents import Subscriber

CAMPAIGN = "ky-lua-2025"
START = date(2025, 11, 15)
END = date(2025, 12, 15)
DAYS = 31


def make_pack(
    *,
    hour: str = "07:30",
    days: range = range(1, DAYS + 1),
    text_prefix: str = "Thông điệp ngày",
    english: bool = True,
    end: date = END,
) -> CampaignPack:
    """A pack for 15/11/2025-15/12/2025 with a post for each day in `days`."""
    return CampaignPack(
        campaign=CampaignInfo(
            id=CAMPAIGN,
            locality="phường Kỳ Lừa",
            year=2025,
            title="Tháng hành động vì bình đẳng giới",
            theme="Bình đẳng giới và an toàn cho phụ nữ và trẻ em gái trong kỷ nguyên số",
            start=START,
            end=end,
            focal_agency="Phòng Văn hóa - Xã hội",
        ),
        delivery=Delivery(hour=hour),
        daily_posts=[
            DailyPost(
                day=d,
                text=f"{text_prefix} {d}.",
                **({"text_en": f"Message of day {d}."} if english else {}),
            )
            for d in days
        ],
        hotlines=[Hotline(name="Tổng đài quốc gia bảo vệ trẻ em", number="111")],
        residential_groups=ResidentialGroups(kind="khối phố", count=47),
    )


def vn(day: date, hh: int, mm: int = 0) -> datetime:
    """A Vietnam wall-clock moment."""
    return datetime.combine(day, time(hh, mm), tzinfo=VN_TZ)


def window(day: int) -> date:
    """The date of window day `day`."""
    return START + timedelta(days=day - 1)


async def add_subscriber(
    db: Database,
    chat_id: str,
    *,
    now: datetime,
    lang: str = "vi",
    status: str = "active",
    hour: str | None = None,
    muted: bool = False,
    channel: str = "telegram",
) -> int:
    """Insert one resident; returns the id."""
    async with db.session() as session:
        sub = Subscriber(
            channel=channel,
            chat_id=chat_id,
            lang=lang,
            status=status,
            delivery_hour=hour,
            posts_muted=muted,
            created_at=now,
            updated_at=now,
        )
        session.add(sub)
        await session.flush()
        assert sub.id is not None
        return sub.id


async def update_subscriber(db: Database, chat_id: str, **values: object) -> None:
    """Change a resident's row as another service would."""
    async with db.session() as session:
        sub = (
            await session.execute(select(Subscriber).where(col(Subscriber.chat_id) == chat_id))
        ).scalar_one()
        for name, value in values.items():
            setattr(sub, name, value)


@dataclass(frozen=True, slots=True)
class Row:
    """One outbox row, as the tests read it."""

    chat_id: str
    dedup_key: str
    text: str
    created_at: datetime
    priority: int
    run_id: int | None

    @property
    def day(self) -> int:
        return int(self.dedup_key.split(":")[2])

    @property
    def local(self) -> datetime:
        return self.created_at.astimezone(VN_TZ)


async def outbox_rows(db: Database, chat_id: str | None = None) -> list[Row]:
    """Outbox rows in insertion order, for one chat or all."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if chat_id is not None:
        query = query.where(col(OutboxMessage.chat_id) == chat_id)
    async with db.session() as session:
        rows = (await session.execute(query)).scalars().all()
    return [
        Row(r.chat_id, r.dedup_key or "", r.text, r.created_at, r.priority, r.run_id) for r in rows
    ]


async def events(db: Database) -> dict[int, CampaignEvent]:
    """Daily-post events by window day."""
    async with db.session() as session:
        rows = (await session.execute(select(CampaignEvent))).scalars().all()
    return {int(e.key.rsplit(":", 1)[1]): e for e in rows}


async def run_until(
    db: Database,
    pack: CampaignPack,
    clock: FakeClock,
    until: datetime,
    step: timedelta = timedelta(minutes=90),
) -> int:
    """Sweep at every step from the clock's time up to `until` (inclusive); returns rows queued."""
    queued = 0
    while clock.now() <= until:
        queued += (await sweep_due(db, pack, now=clock.now())).enqueued
        clock.advance(step)
    return queued
