"""Every SQLModel table, one module per area; importing this package registers them all."""

from bot.storage.models.delivery import BulkRun, OutboxMessage
from bot.storage.models.residents import ChatState, ProcessedUpdate, Subscriber

__all__ = ["BulkRun", "ChatState", "OutboxMessage", "ProcessedUpdate", "Subscriber"]
