"""Reports as a conversation: drafts through the form engine, submissions, versions, expiry."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import FakeClock
from bot.delivery.outbox import Priority
from bot.domain.campaign import Agency, CampaignPack, Deadline, ReportForm
from bot.domain.forms import FormData
from bot.reporting import reports as service
from bot.reporting import repository as repo
from bot.reporting.chat import Reporting
from bot.reporting.officials import create_invite
from bot.residents.chat import Residents
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, ReportDraft
from messages import MESSAGES_DIR
from tests.fixtures.pack import small_pack
from tests.services.chat import ChatDriver

FORM_FILE = Path(MESSAGES_DIR) / "campaigns" / "form-commune.toml"
# 10/12/2025 09:00 Vietnam time: eight days before the deadline (before 18/12/2025).
START = datetime(2025, 12, 10, 2, 0, tzinfo=UTC)


def commune_form() -> ReportForm:
    """The shipped commune report form (seed 002's outline)."""
    with FORM_FILE.open("rb") as fh:
        return ReportForm.model_validate(tomllib.load(fh)["report_form"])


def reporting_pack(*, groups: int = 3) -> CampaignPack:
    """The small test pack plus agencies (a few offices and `groups` khối phố), one deadline."""
    agencies = [
        Agency(id="vhxh", name="Phòng Văn hóa - Xã hội", type="office", reports=False),
        Agency(id="tram-y-te", name="Trạm Y tế phường", type="health_station"),
        Agency(id="truong-thcs", name="Trường THCS Đông Kinh", type="school"),
        Agency(id="hoi-phu-nu", name="Hội Liên hiệp Phụ nữ phường", type="womens_union"),
        Agency(id="cong-an", name="Công an phường", type="police"),
        *[
            Agency(id=f"kp-{n}", name=f"Khối phố {n}", type="residential_group")
            for n in range(1, groups + 1)
        ],
    ]
    deadline = Deadline(
        id="thang-hanh-dong", title="Báo cáo Tháng hành động 2025", due=date(2025, 12, 18)
    )
    data = small_pack().model_dump()
    data.update(
        agencies=[a.model_dump() for a in agencies],
        deadlines=[deadline.model_dump()],
        report_form=commune_form().model_dump(),
    )
    return CampaignPack.model_validate(data)


def make_conversation(db: Database, clock: FakeClock, pack: CampaignPack) -> Conversation:
    """Residents and Reporting wired as build_loa wires them."""
    router = Router()
    reporting = Reporting(pack)
    Residents(pack, start_payload=reporting.start_payload).register(router)
    reporting.register(router)
    return Conversation(db, router, clock)


async def bound_chat(
    db: Database, clock: FakeClock, pack: CampaignPack, agency_id: str, chat_id: str = "2001"
) -> ChatDriver:
    """A chat bound to `agency_id` through a deep-link `/start <code>`."""
    invite = await create_invite(
        db, pack=pack, role="official", agency_id=agency_id, now=clock.now()
    )
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id=chat_id)
    await chat.type(f"/start {invite.code}")
    assert "Đã xác nhận" in chat.texts(), chat.texts()
    return chat


# ---- services below the chat ---------------------------------------------------------------

DUE_AT = datetime(2025, 12, 17, 17, 0, tzinfo=UTC)  # 18/12/2025 00:00 in Vietnam


def test_current_deadline_is_the_next_open_one_else_the_last() -> None:
    pack = reporting_pack()
    data = pack.model_dump()
    data["deadlines"] = [
        {"id": "dot-1", "title": "Đợt 1", "due": date(2025, 11, 25)},
        {"id": "dot-2", "title": "Đợt 2", "due": date(2025, 12, 18)},
    ]
    two = CampaignPack.model_validate(data)
    assert service.current_deadline(two, datetime(2025, 11, 20, tzinfo=UTC)).id == "dot-1"  # type: ignore[union-attr]
    assert service.current_deadline(two, datetime(2025, 11, 24, 17, tzinfo=UTC)).id == "dot-2"  # type: ignore[union-attr]
    assert service.current_deadline(two, datetime(2026, 1, 5, tzinfo=UTC)).id == "dot-2"  # type: ignore[union-attr]


def test_on_time_means_before_midnight_vietnam_time_of_the_due_day() -> None:
    deadline = reporting_pack().deadlines[0]
    assert deadline.due_at == DUE_AT
    assert service.is_on_time(deadline, DUE_AT - timedelta(seconds=1))
    assert not service.is_on_time(deadline, DUE_AT)
    assert service.format_last_day(deadline) == "17/12/2025"


async def outbox_texts(db: Database) -> list[tuple[str, int, str | None, str]]:
    async with db.session() as session:
        rows = await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return [(r.chat_id, r.priority, r.dedup_key, r.text) for r in rows.scalars()]


async def test_draft_expiry_warns_once_then_expires(db: Database) -> None:
    clock = FakeClock(START)
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-1")
    await chat.type("/baocao")
    await chat.press_label("Lễ phát động")
    touched = clock.now()

    async def sweep(hours_after_touch: float) -> service.DraftSweepResult:
        clock.set(touched + timedelta(hours=hours_after_touch))
        return await service.expire_drafts(db, pack, now=clock.now())

    assert await sweep(59) == service.DraftSweepResult()
    assert await sweep(60) == service.DraftSweepResult(warned=1)  # 12 hours before the 72
    assert await sweep(61) == service.DraftSweepResult()  # once only
    direct = [row for row in await outbox_texts(db) if row[1] == Priority.DIRECT]
    assert len(direct) == 1
    assert direct[0][0] == "2001"
    assert "sẽ bị xóa sau khoảng 12 giờ nữa" in direct[0][3]
    # touching the draft (one more answer) restarts its life and allows a new warning later
    await chat.type("5")
    touched = clock.now()
    assert await sweep(30) == service.DraftSweepResult()
    assert await sweep(61) == service.DraftSweepResult(warned=1)
    assert await sweep(72) == service.DraftSweepResult(expired=1)
    assert await sweep(73) == service.DraftSweepResult()
    direct = [row for row in await outbox_texts(db) if row[1] == Priority.DIRECT]
    assert len(direct) == 3
    assert "đã bị xóa" in direct[-1][3]
    async with db.session() as session:
        assert (await session.execute(select(ReportDraft))).first() is None
    # the chat's next answer is told the form is gone; nothing is stored
    await chat.type("7")
    assert "Biểu mẫu này đã hết hạn" in chat.texts()
    async with db.session() as session:
        assert (await session.execute(select(ReportDraft))).first() is None


async def test_versions_are_numbered_per_agency_and_deadline(db: Database) -> None:
    pack = reporting_pack()
    deadline = pack.deadlines[0]
    empty = FormData()
    async with db.session() as session:
        a, _ = await repo.bind_official(
            session,
            channel="telegram",
            chat_id="1",
            role="official",
            agency_id="kp-1",
            lang="vi",
            now=START,
        )
        b, _ = await repo.bind_official(
            session,
            channel="telegram",
            chat_id="2",
            role="official",
            agency_id="kp-2",
            lang="vi",
            now=START,
        )
        versions = [
            (
                await service.submit_report(
                    session, official=o, deadline=deadline, data=empty, now=START
                )
            ).version
            for o in (a, a, b, a)
        ]
        assert versions == [1, 2, 1, 3]
        late = DUE_AT + timedelta(hours=1)
        with pytest.raises(service.AmendClosed):
            await service.submit_report(
                session, official=a, deadline=deadline, data=empty, now=late
            )
        c, _ = await repo.bind_official(
            session,
            channel="telegram",
            chat_id="3",
            role="official",
            agency_id="kp-3",
            lang="vi",
            now=START,
        )
        row = await service.submit_report(
            session, official=c, deadline=deadline, data=empty, now=late
        )
        assert (row.version, row.on_time) == (1, False)
        missing = await service.missing_agencies(session, pack, deadline)
    assert [m.id for m in missing] == ["cong-an", "hoi-phu-nu", "tram-y-te", "truong-thcs"]
