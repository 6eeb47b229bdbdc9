"""Every SQLModel table, one module per area; importing this package registers them all."""

from bot.storage.models.coordinators import AuditEntry, Broadcast
from bot.storage.models.delivery import BulkRun, OutboxMessage
from bot.storage.models.events import CampaignEvent
from bot.storage.models.inbox import InboxEvent
from bot.storage.models.lease import Lease
from bot.storage.models.quota import SendCounter
from bot.storage.models.reports import (
    InviteAttempt,
    InviteCode,
    Official,
    ReportDraft,
    ReportSubmission,
)
from bot.storage.models.residents import ChatState, ProcessedUpdate, Subscriber
from bot.storage.models.zalo_oa import OaToken

__all__ = [
    "AuditEntry",
    "Broadcast",
    "BulkRun",
    "CampaignEvent",
    "ChatState",
    "InboxEvent",
    "InviteAttempt",
    "InviteCode",
    "Lease",
    "OaToken",
    "Official",
    "OutboxMessage",
    "ProcessedUpdate",
    "ReportDraft",
    "ReportSubmission",
    "SendCounter",
    "Subscriber",
]
