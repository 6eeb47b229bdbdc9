"""Deadline reminders over a simulated fortnight: only to the missing, escalation, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import col, select

from bot.clock import VN_TZ, FakeClock
from bot.delivery.outbox import Priority
from bot.domain.campaign import Agency, CampaignPack
from bot.domain.text import ZALO_MAX_TEXT
from bot.reporting.officials import create_invite
from bot.reporting.reminders import (
    activate_reminders,
    escalation_parts,
    sweep_reminders,
)
from bot.reporting.reports import name_order
from bot.storage.db import Database
from bot.storage.models import BulkRun, CampaignEvent, OutboxMessage
from messages.packs import load_pack
from tests.support.chat import ChatDriver
from tests.support.reporting import (
    bound_chat,
    fill_minimal_report,
    make_conversation,
    reporting_pack,
)

# 01/12/2025 00:00 Vietnam time
FORTNIGHT_START = datetime(2025, 11, 30, 17, 0, tzinfo=UTC)


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date(2025, 12, day), time(hour, minute), tzinfo=VN_TZ)


async def direct_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        rows = await session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.priority) == int(Priority.DIRECT))
            .order_by(col(OutboxMessage.id))
        )
        return list(rows.scalars())


async def bind_coordinator(
    db: Database, clock: FakeClock, pack: CampaignPack, chat_id: str
) -> None:
    invite = await create_invite(db, pack=pack, role="coordinator", agency_id=None, now=clock.now())
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id=chat_id)
    await chat.type(f"/start {invite.code}")
    assert "cán bộ điều phối" in chat.texts()


async def test_activation_materialises_reminders_and_escalation_once(db: Database) -> None:
    pack = reporting_pack()
    first = await activate_reminders(db, pack, now=FORTNIGHT_START)
    again = await activate_reminders(db, pack, now=FORTNIGHT_START)
    assert (first.created, again.created, again.unchanged) == (4, 0, 4)
    async with db.session() as session:
        events = (
            await session.execute(select(CampaignEvent).order_by(col(CampaignEvent.due_at)))
        ).scalars()
        planned = [(e.kind, e.due_at.astimezone(VN_TZ)) for e in events]
    assert planned == [
        ("reminder", vn(15, 8)),
        ("reminder", vn(17, 8)),
        ("reminder", vn(18, 8)),
        ("escalation", vn(18, 8)),
    ]


async def test_a_simulated_fortnight_reminds_only_the_missing(db: Database) -> None:
    pack = reporting_pack()
    clock = FakeClock(FORTNIGHT_START)
    await activate_reminders(db, pack, now=clock.now())
    chats = {
        agency: await bound_chat(db, clock, pack, agency, chat_id=f"chat-{agency}")
        for agency in ("tram-y-te", "truong-thcs", "kp-1", "kp-2")
    }
    await bind_coordinator(db, clock, pack, "coord-1")
    sent_by_day: dict[int, list[tuple[str, str]]] = {}
    seen = 0
    results = []
    while clock.now() < vn(20, 0):
        now_local = clock.now().astimezone(VN_TZ)
        if now_local == vn(14, 10):
            await fill_minimal_report(chats["tram-y-te"])
            await chats["tram-y-te"].press_label("Gửi")
        if now_local == vn(16, 15):
            await fill_minimal_report(chats["truong-thcs"])
            await chats["truong-thcs"].press_label("Gửi")
        result = await sweep_reminders(db, pack, now=clock.now())
        results.append(result)
        # running the sweep again at the same moment adds nothing (idempotent)
        repeat = await sweep_reminders(db, pack, now=clock.now())
        assert repeat.reminders == repeat.escalations == 0
        rows = await direct_rows(db)
        for row in rows[seen:]:
            local = row.created_at.astimezone(VN_TZ)
            assert not pack.delivery.is_quiet(local.time()), "nothing is queued in quiet hours"
            sent_by_day.setdefault(local.day, []).append((row.chat_id, row.text))
        seen = len(rows)
        clock.advance(timedelta(hours=1))

    assert sorted(sent_by_day) == [15, 17, 18]
    day15 = sent_by_day[15]
    assert sorted(chat for chat, _ in day15) == ["chat-kp-1", "chat-kp-2", "chat-truong-thcs"]
    assert all("còn 3 ngày" in text and "hạn trước ngày 18/12/2025" in text for _, text in day15)
    kp1 = next(text for chat, text in day15 if chat == "chat-kp-1")
    assert kp1 == (
        "Nhắc: «Báo cáo Tháng hành động 2025» của «Khối phố 1» hạn trước ngày 18/12/2025, "
        "còn 3 ngày. Gõ /baocao để điền (vài phút)."
    )
    day17 = sent_by_day[17]
    assert sorted(chat for chat, _ in day17) == ["chat-kp-1", "chat-kp-2"]
    assert all("hôm nay là ngày cuối" in text for _, text in day17)
    day18 = sent_by_day[18]
    overdue = [(chat, text) for chat, text in day18 if chat != "coord-1"]
    assert sorted(chat for chat, _ in overdue) == ["chat-kp-1", "chat-kp-2"]
    assert all("đã quá hạn" in text for _, text in overdue)
    escalation = [text for chat, text in day18 if chat == "coord-1"]
    assert len(escalation) == 1
    lines = escalation[0].splitlines()
    assert (
        lines[0]
        == "«Báo cáo Tháng hành động 2025» (hạn trước ngày 18/12/2025): 5/7 đơn vị chưa gửi:"
    )
    assert lines[1:] == [
        "• Công an phường",
        "• Hội Liên hiệp Phụ nữ phường",
        "• Khối phố: 3/3 chưa gửi",
    ]
    # never to an agency that had sent
    every = [chat for rows in sent_by_day.values() for chat, _ in rows]
    assert "chat-tram-y-te" not in every
    async with db.session() as session:
        runs = (await session.execute(select(BulkRun).order_by(col(BulkRun.id)))).scalars()
        kinds = [run.kind for run in runs]
        statuses = (await session.execute(select(CampaignEvent.status))).scalars()
        assert set(statuses) == {"done"}
    assert kinds == ["reminder", "reminder", "reminder", "escalation"]
    assert sum(r.events_done for r in results) == 4


async def test_quiet_hours_hold_reminders_until_they_end(db: Database) -> None:
    pack = reporting_pack()
    data = pack.model_dump()
    data["deadlines"][0]["reminder_hour"] = "06:00"  # inside quiet hours (21:00-07:00)
    early = CampaignPack.model_validate(data)
    clock = FakeClock(vn(14, 12))
    await activate_reminders(db, early, now=clock.now())
    await bound_chat(db, clock, early, "kp-1")
    quiet = await sweep_reminders(db, early, now=vn(15, 6, 30))
    assert quiet.quiet
    assert await direct_rows(db) == []
    result = await sweep_reminders(db, early, now=vn(15, 7, 0))
    assert result.reminders == 1
    assert "còn 3 ngày" in (await direct_rows(db))[0].text


async def test_a_reminder_whose_day_passed_is_missed_not_sent_late(db: Database) -> None:
    pack = reporting_pack()
    clock = FakeClock(vn(10, 9))
    await activate_reminders(db, pack, now=clock.now())
    await bound_chat(db, clock, pack, "kp-1")
    # the bot was down from 14/12 until 16/12 09:00
    result = await sweep_reminders(db, pack, now=vn(16, 9))
    assert (result.reminders, result.events_missed) == (0, 1)
    result = await sweep_reminders(db, pack, now=vn(17, 8))
    assert result.reminders == 1
    assert ["hôm nay là ngày cuối" in row.text for row in await direct_rows(db)] == [True]


async def test_escalation_reaches_coordinators_even_when_everyone_sent(db: Database) -> None:
    pack = reporting_pack(groups=0)
    clock = FakeClock(vn(10, 9))
    await activate_reminders(db, pack, now=clock.now())
    for agency in ("tram-y-te", "truong-thcs", "hoi-phu-nu", "cong-an"):
        chat = await bound_chat(db, clock, pack, agency, chat_id=f"chat-{agency}")
        await fill_minimal_report(chat)
        await chat.press_label("Gửi")
    await bind_coordinator(db, clock, pack, "coord-1")
    await bind_coordinator(db, clock, pack, "coord-2")
    for day in (15, 17):
        assert (await sweep_reminders(db, pack, now=vn(day, 8))).reminders == 0
    result = await sweep_reminders(db, pack, now=vn(18, 8))
    assert (result.reminders, result.escalations) == (0, 2)
    texts = {row.chat_id: row.text for row in await direct_rows(db)}
    assert texts == {
        "coord-1": "«Báo cáo Tháng hành động 2025» (hạn trước ngày 18/12/2025): "
        "tất cả 4 đơn vị đã gửi.",
        "coord-2": "«Báo cáo Tháng hành động 2025» (hạn trước ngày 18/12/2025): "
        "tất cả 4 đơn vị đã gửi.",
    }


def test_long_escalations_split_on_lines_in_vietnamese_order() -> None:
    pack = reporting_pack(groups=47)
    names = [f"Ban công tác Mặt trận khu dân cư số {n} của phường Thử Nghiệm" for n in range(60)]
    names += ["Đội dân phòng", "Ấp Bắc", "Ủy ban MTTQ", "Ăn uống"]
    others = [Agency(id=f"o-{i}", name=name, type="other") for i, name in enumerate(names)]
    data = pack.model_dump()
    data["agencies"] += [a.model_dump() for a in others]
    pack = CampaignPack.model_validate(data)
    deadline = pack.deadlines[0]
    missing = [a for a in pack.agencies if a.reports and a.id != "kp-3"]
    parts = escalation_parts(pack, deadline, missing, "vi")
    assert len(parts) > 1
    assert all(len(part) <= ZALO_MAX_TEXT for part in parts)
    assert parts[1].startswith(f"(tiếp theo, 2/{len(parts)})")
    lines = [line for part in parts for line in part.splitlines()]
    assert "• Khối phố: 46/47 chưa gửi — trừ 3" in lines
    assert "• Đơn vị khác: 64/64 chưa gửi:" in lines
    listed = [line.removeprefix("   – ") for line in lines if line.startswith("   – ")]
    # every irregular name on its own line, none lost across parts, in Vietnamese order
    assert listed == sorted(names, key=name_order)
    firsts = [n.split()[0] for n in listed]
    assert firsts.index("Ăn") < firsts.index("Ấp") < firsts.index("Ban") < firsts.index("Đội")
    assert firsts[-1] == "Ủy"
    assert [n for n in listed if n.startswith("Ban")][:3] == [
        f"Ban công tác Mặt trận khu dân cư số {n} của phường Thử Nghiệm" for n in (0, 1, 2)
    ]


async def test_a_report_cancels_reminders_not_yet_sent(db: Database) -> None:
    pack = reporting_pack()
    clock = FakeClock(vn(10, 9))
    await activate_reminders(db, pack, now=clock.now())
    chat = await bound_chat(db, clock, pack, "kp-1")
    clock.set(vn(15, 8))
    await sweep_reminders(db, pack, now=clock.now())
    (row,) = await direct_rows(db)
    assert row.status == "pending"
    await fill_minimal_report(chat)
    await chat.press_label("Gửi")
    (row,) = await direct_rows(db)
    assert row.status == "cancelled"


async def test_ky_lua_escalation_lists_every_missing_agency_in_order(db: Database) -> None:
    pack = load_pack("ky-lua-2025")
    clock = FakeClock(vn(10, 9))
    await activate_reminders(db, pack, now=clock.now())
    await bind_coordinator(db, clock, pack, "coord-1")
    official = await bound_chat(db, clock, pack, "tram-y-te", chat_id="chat-tyt")
    await fill_minimal_report(official)
    await official.press_label("Gửi")
    result = await sweep_reminders(db, pack, now=vn(18, 8))
    assert result.escalations >= 1
    parts = [row.text for row in await direct_rows(db) if row.chat_id == "coord-1"]
    assert all(len(part) <= ZALO_MAX_TEXT for part in parts)
    lines = [line for part in parts for line in part.splitlines()]
    # the focal office receives the reports: it is not expected (53, not 54), and 47 khối phố
    # take one line, not 47
    assert lines[0].endswith(": 52/53 đơn vị chưa gửi:")
    assert "• Khối phố: 47/47 chưa gửi" in lines
    listed = [line[2:] for line in lines[1:]]
    assert "Trạm y tế phường" not in listed
    assert "Phòng Văn hóa - Xã hội" not in listed
    assert len(parts) == 1
    assert listed.index("Công an phường") < listed.index("Hội Liên hiệp Phụ nữ phường")
    assert listed[-1].startswith("Ủy ban")
