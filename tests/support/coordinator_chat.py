"""Coordinator chat helpers: a conversation wired as build_loa wires it, bound chats."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from bot.channels.telegram.sender import TelegramSender
from bot.channels.zalo.sender import ZaloSender
from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import FakeClock
from bot.coordinators.broadcast_chat import BroadcastChat
from bot.coordinators.chat import Coordinators
from bot.coordinators.filestore import FileStore
from bot.domain.campaign import CampaignPack
from bot.reporting.chat import Reporting
from bot.reporting.officials import Role, create_invite
from bot.residents.chat import Residents
from bot.storage.db import Database
from bot.storage.models import AuditEntry, Broadcast, OutboxMessage, Subscriber
from tests.support.chat import ChatDriver

KEY = b"test-signing-key"
PUBLIC_URL = "https://loa.example.vn"
# how the real senders cut long texts (Zalo counts UTF-16 units)
CAPABILITIES = {"telegram": TelegramSender.capabilities, "zalo": ZaloSender.capabilities}


def coordinator_conversation(
    db: Database, clock: FakeClock, pack: CampaignPack, files: Path
) -> tuple[Conversation, Coordinators]:
    """Residents, Reporting and Coordinators; Telegram carries files, Zalo gets links."""
    router = Router()
    coordinators = Coordinators(
        pack,
        db=db,
        key=KEY,
        files=FileStore(files),
        file_channels=["telegram"],
        public_url=PUBLIC_URL,
    )
    reporting = Reporting(pack, on_bound=coordinators.on_bound)
    Residents(
        pack,
        start_payload=reporting.start_payload,
        role_start=reporting.role_start,
        role_help=reporting.role_help,
    ).register(router)
    reporting.register(router)
    coordinators.register(router)
    BroadcastChat(pack, key=KEY, channels=CAPABILITIES).register(router)
    return Conversation(db, router, clock), coordinators


async def bind(
    db: Database,
    clock: FakeClock,
    conversation: Conversation,
    pack: CampaignPack,
    *,
    chat_id: str,
    agency_id: str | None = None,
    channel: str = "telegram",
) -> ChatDriver:
    """A chat bound as coordinator (no agency) or as an official of `agency_id`."""
    role: Role = "coordinator" if agency_id is None else "official"
    invite = await create_invite(db, pack=pack, role=role, agency_id=agency_id, now=clock.now())
    chat = ChatDriver(conversation, clock, chat_id=chat_id)
    chat.channel = channel
    await chat.type(f"/start {invite.code}")
    assert "Đã xác nhận" in chat.texts() or "điều phối" in chat.texts(), chat.texts()
    return chat


async def audit_rows(db: Database) -> list[AuditEntry]:
    async with db.session() as session:
        stmt = select(AuditEntry).order_by(col(AuditEntry.id))
        return list((await session.execute(stmt)).scalars())


async def outbox_to(db: Database, chat_id: str) -> list[OutboxMessage]:
    async with db.session() as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.chat_id) == chat_id)
        return list((await session.execute(stmt.order_by(col(OutboxMessage.id)))).scalars())


async def add_residents(
    db: Database, clock: FakeClock, rows: list[tuple[str, str, str, str]]
) -> None:
    """(channel, chat id, group, status) subscribers."""
    async with db.session() as session:
        for channel, chat_id, group, status in rows:
            session.add(
                Subscriber(
                    channel=channel, chat_id=chat_id, group_code=group, status=status,
                    created_at=clock.now(), updated_at=clock.now(),
                )
            )  # fmt: skip


async def one_broadcast(db: Database) -> Broadcast:
    async with db.session() as session:
        return (await session.execute(select(Broadcast))).scalars().one()


async def mark_bulk_sent(db: Database, count: int) -> None:
    """Mark `count` pending bulk rows sent, as if the dispatcher had sent them."""
    async with db.session() as session:
        pending = (await session.execute(select(OutboxMessage).where(
            col(OutboxMessage.status) == "pending", col(OutboxMessage.run_id).is_not(None)
        ).limit(count))).scalars()  # fmt: skip
        for row in pending:
            row.status = "sent"
