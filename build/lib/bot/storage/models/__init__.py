"""Every SQLModel table, one module per area; importing this package registers them all."""

from bot.storage.models.delivery import BulkRun, OutboxMessage
from bot.storage.models.events import CampaignEvent
from bot.storage.models.reports import (
    InviteAttempt,
    InviteCode,
    Official,
    ReportDraft,
    ReportSubmission,
)
from bot.storage.models.residents import ChatState, ProcessedUpdate, Subscriber

__all__ = [
    "BulkRun",
    "CampaignEvent",
    "ChatState",
    "InviteAttempt",
    "InviteCode",
    "Official",
    "OutboxMessage",
    "ProcessedUpdate",
    "ReportDraft",
    "ReportSubmission",
    "Subscriber",
]
