"""/xoadulieu: once its confirmation is sent, no outbox row names the chat any more."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.app import build_loa
from bot.clock import FakeClock
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from tests.support.chat import ChatDriver
from tests.support.delivery import Runner, ScriptedChannel
from tests.support.pack import small_pack

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


async def rows_naming(db: Database, chat_id: str) -> int:
    async with db.session() as session:
        stmt = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.chat_id == chat_id)
        return int((await session.execute(stmt)).scalar_one())


async def test_the_deletion_confirmation_is_deleted_once_sent(db: Database) -> None:
    clock = FakeClock(START)
    loa = build_loa(db=db, pack=small_pack(), clock=clock, channels={})
    chat = ChatDriver(loa.conversation, clock, chat_id="9301")
    await chat.type("/start")
    await chat.press_label("Tiếng Việt")
    await chat.press_label("Khối phố 5")
    await chat.type("/xoadulieu")
    await chat.press_label("Xóa dữ liệu")
    assert await rows_naming(db, "9301") == 1  # the confirmation, waiting to be sent
    channel = ScriptedChannel()
    await Runner(db, channel, clock).run(sends=1)
    assert "Đã xóa toàn bộ dữ liệu" in channel.sent[-1].text
    assert await rows_naming(db, "9301") == 0
