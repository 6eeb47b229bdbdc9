"""Every outbox dedup key and topic is built here, so their shapes live in one place.

A dedup key makes a generated message unique (a sweep run twice inserts nothing twice); nothing
ever searches inside a key. Rows that must be found again later (the reminders to cancel when an
agency reports) carry a `topic` and a `topic_ref` in their own columns, matched by equality.
"""

from __future__ import annotations

from datetime import datetime

# The topic of a coordinator's broadcast rows (`topic_ref`: the broadcast's id). A broadcast to
# someone outside a messaging window is held for their next message, not skipped.
BROADCAST_TOPIC = "broadcast"
# The topic of a template notice (Zalo OA) inviting a resident with held broadcasts to write
# again; not bound to the messaging window.
TEMPLATE_TOPIC = "oa-template"


def post_prefix(campaign_id: str, day: int) -> str:
    """A day's post, without the subscriber id (the SQL that fans the post out appends it)."""
    return f"post:{campaign_id}:{day}:"


def reminder_key(
    campaign_id: str, deadline_id: str, offset: int, agency_id: str, official_id: int
) -> str:
    """A deadline's reminder `offset` days before it, to one official of an agency."""
    return f"remind:{campaign_id}:{deadline_id}:{offset}:{agency_id}:{official_id}"


def reminder_topic(campaign_id: str, deadline_id: str) -> str:
    """The topic of every reminder of a deadline; `topic_ref` holds the agency's id."""
    return f"remind:{campaign_id}:{deadline_id}"


def escalation_key(
    campaign_id: str, deadline_id: str, coordinator_id: int | None, part: int
) -> str:
    """Part `part` of a deadline's escalation to one coordinator."""
    return f"escalate:{campaign_id}:{deadline_id}:{coordinator_id}:{part}"


def draft_warning_key(draft_id: int | None, updated_at: datetime) -> str:
    """The expiry warning of a draft as it was at `updated_at` (a later change may warn again)."""
    return f"draft-warn:{draft_id}:{_stamp(updated_at)}"


def draft_expired_key(draft_id: int | None, updated_at: datetime) -> str:
    """The notice that a draft (as it was at `updated_at`) expired."""
    return f"draft-expired:{draft_id}:{_stamp(updated_at)}"


def _stamp(when: datetime) -> str:
    return str(int(when.timestamp()))


def alert_key(kind: str, coordinator_id: int | None, now: datetime) -> str:
    """An operational alert of `kind` to one coordinator: at most one an hour."""
    return f"alert:{kind}:{coordinator_id}:{now:%Y%m%d%H}"


def template_key(channel: str, chat_id: str, day: str) -> str:
    """A resident's template notice queued on Vietnam day `day` (yyyymmdd): at most one a day
    (the queueing step also waits a week after the last one)."""
    return f"template:{channel}:{chat_id}:{day}"
