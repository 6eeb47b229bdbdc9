"""/xoadulieu on SQLite: the deleted chat id is not left behind in the database file's free
space (SQLite keeps deleted cells' bytes unless `secure_delete` is on)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.app import build_loa
from bot.clock import FakeClock
from bot.storage.db import Database, sqlite_pragmas
from tests.support.chat import ChatDriver
from tests.support.delivery import Runner, ScriptedChannel
from tests.support.pack import small_pack

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)
CHAT = "7301946285519"


def database_bytes(folder: Path) -> bytes:
    """The SQLite file with its WAL and shared-memory files, as bytes."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("loa.db"))


async def test_a_deleted_residents_chat_id_is_gone_from_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "loa.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create_all()
    try:
        clock = FakeClock(START)
        loa = build_loa(db=db, pack=small_pack(), clock=clock, channels={})
        chat = ChatDriver(loa.conversation, clock, chat_id=CHAT)
        await chat.type("/start")
        await chat.press_label("Tiếng Việt")
        await chat.press_label("Khối phố 5")
        await chat.type("/khauhieu")
        channel = ScriptedChannel()
        await Runner(db, channel, clock).run(sends=3)
        async with db.session() as session:
            await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        assert CHAT.encode() in database_bytes(tmp_path)  # stored while subscribed
        await chat.type("/xoadulieu")
        await chat.press_label("Xóa dữ liệu")
        await Runner(db, channel, clock).run(sends=1)
        assert "Đã xóa toàn bộ dữ liệu" in channel.sent[-1].text
        async with db.session() as session:
            await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        await db.dispose()
    assert CHAT.encode() not in database_bytes(tmp_path)


class RecordingConnection:
    """Stands in for a DB-API connection: records what the connect hook executes."""

    def __init__(self) -> None:
        self.executed: list[str] = []

    def cursor(self) -> RecordingConnection:
        return self

    def execute(self, sql: str) -> None:
        self.executed.append(sql)

    def close(self) -> None:
        pass


def test_every_sqlite_connection_turns_secure_delete_on() -> None:
    # this machine's SQLite has it on by default, so the file test above cannot tell; a build
    # without it (e.g. python.org's) relies on the connect hook
    connection = RecordingConnection()
    sqlite_pragmas(connection, None)
    assert "PRAGMA secure_delete=ON" in connection.executed
