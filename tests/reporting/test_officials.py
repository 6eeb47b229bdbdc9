"""Invite codes: binding a chat, wrong / used / expired codes, brute force, the CLI's lines."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from bot.clock import FakeClock
from bot.reporting import repository as repo
from bot.reporting.officials import (
    InviteError,
    create_invite,
    find_agency,
    hash_code,
    invite_command,
)
from bot.storage.db import Database
from bot.storage.models import InviteAttempt, InviteCode, Official, ReportDraft, ReportSubmission
from tests.support.chat import ChatDriver
from tests.support.reporting import (
    START,
    bound_chat,
    fill_minimal_report,
    make_conversation,
    reporting_pack,
)

INVALID = (
    "Mã mời này không dùng được: có thể mã bị gõ sai, đã hết hạn hoặc đã được dùng. "
    "Xin liên hệ cán bộ điều phối để nhận mã mới."
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def officials(db: Database) -> list[Official]:
    async with db.session() as session:
        return list((await session.execute(select(Official))).scalars())


async def test_deep_link_code_binds_the_chat_once(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    invite = await create_invite(
        db, pack=pack, role="official", agency_id="tram-y-te", now=clock.now()
    )
    assert len(invite.code) == 10
    assert invite.deep_link("@LoaKyLuaBot") == f"https://t.me/LoaKyLuaBot?start={invite.code}"
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2001")
    await chat.type(f"/start {invite.code}")
    assert "cán bộ báo cáo của «Trạm Y tế phường»" in chat.texts()
    assert "/baocao" in chat.texts()
    rows = await officials(db)
    assert [(o.channel, o.chat_id, o.role, o.agency_id) for o in rows] == [
        ("telegram", "2001", "official", "tram-y-te")
    ]
    async with db.session() as session:
        code = (await session.execute(select(InviteCode))).scalar_one()
    # only the hash is kept, and the code is spent
    assert code.code_hash == hash_code(invite.code) != invite.code
    assert code.used_at == clock.now()
    assert code.used_by_official_id == rows[0].id
    # a second chat with the same code gets the same answer as a wrong code
    other = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2002")
    await other.type(f"/start {invite.code}")
    assert other.texts() == INVALID
    assert len(await officials(db)) == 1


async def test_wrong_used_and_expired_codes_get_one_answer(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    used = await create_invite(db, pack=pack, role="official", agency_id="kp-1", now=clock.now())
    expiring = await create_invite(
        db, pack=pack, role="official", agency_id="kp-2", now=clock.now(), ttl=timedelta(hours=1)
    )
    first = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2001")
    await first.type(f"/start {used.code}")
    clock.advance(timedelta(hours=2))
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2002")
    answers = set()
    for code in ("WRONGCODE2", used.code, expiring.code):
        await chat.type(f"/start {code}")
        answers.add(chat.texts())
    assert answers == {INVALID}
    assert [o.chat_id for o in await officials(db)] == ["2001"]
    async with db.session() as session:
        failed = await session.execute(
            select(func.count())
            .select_from(InviteAttempt)
            .where(col(InviteAttempt.chat_id) == "2002", col(InviteAttempt.ok).is_(False))
        )
    assert failed.scalar_one() == 3


async def test_codes_are_case_insensitive_and_rebinding_replaces(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2001")
    first = await create_invite(db, pack=pack, role="official", agency_id="kp-1", now=clock.now())
    await chat.type(f"/start {first.code.lower()}")
    assert "«Khối phố 1»" in chat.texts()
    coordinator = await create_invite(
        db, pack=pack, role="coordinator", agency_id=None, now=clock.now()
    )
    await chat.type(f"/start {coordinator.code}")
    assert "cán bộ điều phối của phường Thử Nghiệm" in chat.texts()
    assert "Liên kết trước đây" in chat.texts()
    assert [(o.role, o.agency_id) for o in await officials(db)] == [("coordinator", None)]


async def test_brute_force_is_refused_from_the_sixth_try_and_logged_without_secrets(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    pack = reporting_pack()
    good = await create_invite(db, pack=pack, role="official", agency_id="kp-1", now=clock.now())
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="987654321")
    caplog.set_level(logging.INFO)
    for n in range(5):
        await chat.type(f"/start GUESS{n:05d}")
        assert chat.texts() == INVALID
        clock.advance(timedelta(minutes=1))
    # the sixth try is refused even with the right code
    await chat.type(f"/start {good.code}")
    assert chat.texts() == "Anh/chị đã nhập sai mã quá nhiều lần. Xin đợi 15 phút rồi thử lại."
    assert await officials(db) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings
    for record in caplog.records:
        message = record.getMessage()
        assert "987654321" not in message
        assert good.code not in message
        assert "GUESS" not in message
    # after a quiet quarter of an hour the right code works (and is still unused)
    clock.advance(timedelta(minutes=16))
    await chat.type(f"/start {good.code}")
    assert "«Khối phố 1»" in chat.texts()
    # other chats were never limited
    other = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2002")
    await other.type("/start NOPENOPE22")
    assert other.texts() == INVALID


async def test_unknown_agency_is_refused_when_creating(sqlite_db: Database) -> None:
    pack = reporting_pack()
    with pytest.raises(InviteError, match="Không tìm thấy đơn vị «nowhere»"):
        await create_invite(sqlite_db, pack=pack, role="official", agency_id="nowhere", now=START)
    with pytest.raises(InviteError):
        await create_invite(sqlite_db, pack=pack, role="official", agency_id=None, now=START)
    async with sqlite_db.session() as session:
        assert (await session.execute(select(InviteCode))).first() is None


def test_find_agency_by_id_name_and_folded_name() -> None:
    pack = reporting_pack(groups=12)
    assert find_agency(pack, "tram-y-te").name == "Trạm Y tế phường"
    assert find_agency(pack, "tram y te").id == "tram-y-te"
    assert find_agency(pack, "CÔNG AN PHƯỜNG").id == "cong-an"
    assert find_agency(pack, "khoi pho 11").id == "kp-11"
    assert find_agency(pack, "truong thcs").id == "truong-thcs"


def test_find_agency_ambiguous_lists_candidates_in_vietnamese_order() -> None:
    pack = reporting_pack(groups=12)
    with pytest.raises(InviteError) as err:
        find_agency(pack, "phường")
    text = str(err.value)
    assert "khớp với nhiều đơn vị" in text
    lines = [line.strip() for line in text.splitlines()[1:]]
    assert lines == [
        "cong-an — Công an phường",
        "hoi-phu-nu — Hội Liên hiệp Phụ nữ phường",
        "tram-y-te — Trạm Y tế phường",
    ]
    with pytest.raises(InviteError, match="Không tìm thấy"):
        find_agency(pack, "Sở Mặt Trăng")


async def test_invite_command_prints_code_link_and_vietnam_expiry(sqlite_db: Database) -> None:
    pack = reporting_pack()
    text = await invite_command(
        sqlite_db, pack, role="official", agency="tram y te", bot_username="LoaBot", now=START
    )
    lines = text.splitlines()
    assert lines[0] == "Mã mời cho cán bộ của «Trạm Y tế phường» (tram-y-te)"
    code = lines[1].removeprefix("Mã: ")
    assert len(code) == 10
    assert lines[2] == f"Liên kết: https://t.me/LoaBot?start={code}"
    # START is 10/12/2025 09:00 in Vietnam; seven days later
    assert lines[3].startswith("Hết hạn: 17/12/2025 09:00 (giờ Việt Nam)")
    coordinator = await invite_command(
        sqlite_db, pack, role="coordinator", agency=None, bot_username="LoaBot", now=START
    )
    assert coordinator.startswith("Mã mời cho cán bộ điều phối")


async def test_forgetting_a_chat_keeps_the_agency_report(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-1")
    await fill_minimal_report(chat)
    await chat.press_label("Gửi")
    await chat.type("/baocao")  # an amendment draft
    async with db.session() as session:
        await repo.forget_chat(session, channel="telegram", chat_id="2001")
    assert await officials(db) == []
    async with db.session() as session:
        assert (await session.execute(select(ReportDraft))).first() is None
        assert (await session.execute(select(InviteAttempt))).first() is None
        kept = (await session.execute(select(ReportSubmission))).scalar_one()
        code = (await session.execute(select(InviteCode))).scalar_one()
    assert (kept.agency_id, kept.version, kept.official_id) == ("kp-1", 1, None)
    assert code.used_by_official_id is None
