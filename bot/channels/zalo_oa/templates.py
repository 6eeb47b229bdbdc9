"""The OA's template lane: a ZBS template notice by user id, off unless ZALO_OA_TEMPLATE_ID is set.

The request follows what several integrations send (README, "What each message kind costs");
no page Loa could read documents it, its answer or its errors. What each code does here — all
but -249 and -109 read from one integration's ZBS error table, and the grouping a guess:
    0                           sent
    -249 (template not usable by user id), -109 (bad template id), -117 (no right to the
    template), -131 (not approved)   the lane stops: ONE error line and one coordinator alert;
                                the notices wait (not an attempt) until an operator fixes the
                                setting and restarts
    -216, -220                  token: renewed once, as for consultation messages
    -32, -211, -144, -147, -115, -137   rate or quota (-144 daily, -147 the template's daily, -115
                                / -137 balance): RETRY after a pause, like the consultation lane
    anything else               as a consultation message's code (`classify`): skipped or failed
                                with the reason counted, never retried forever
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.channels.base import SendResult, SendStatus

log = logging.getLogger(__name__)

STOP_TEMPLATE = {
    -249: "template not usable by user id",
    -109: "invalid template id",
    -117: "no right to this template",
    -131: "template not approved",
}
QUOTA_LIKE = frozenset({-211, -144, -147, -115, -137})
PAUSE_S = 3600.0

Alert = Callable[[str], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class TemplateSettings:
    """The ward's approved template: its id (the lane is off without one)."""

    template_id: str


class TemplateLane:
    """Whether the lane still sends; stops (once, loudly) when Zalo refuses the template."""

    def __init__(self, settings: TemplateSettings, alert: Alert | None = None) -> None:
        self.settings = settings
        self._alert = alert
        self.stopped_by: int | None = None

    @property
    def open(self) -> bool:
        """False once the template itself was refused."""
        return self.stopped_by is None

    async def refused(self, code: int) -> SendResult | None:
        """The result for a template-specific code, or None to treat it like any OA error."""
        if code in STOP_TEMPLATE:
            await self._stop(code)
            # kept without an attempt; the dispatcher holds the others back while stopped
            return SendResult(SendStatus.QUOTA, error=f"{code} {STOP_TEMPLATE[code]}", calls=0)
        if code in QUOTA_LIKE:
            return SendResult(
                SendStatus.RETRY, retry_after=PAUSE_S, error=f"{code} template quota", calls=0
            )
        return None

    async def _stop(self, code: int) -> None:
        if self.stopped_by is not None:
            return
        self.stopped_by = code
        log.error(
            "zalo oa: template notices stopped: error %s (%s); check ZALO_OA_TEMPLATE_ID, "
            "then restart",
            code,
            STOP_TEMPLATE[code],
        )
        if self._alert is not None:
            try:
                await self._alert("zalo_oa.template_alert")
            except Exception as exc:  # an alert that fails must not stop the sender
                log.error("zalo oa: could not queue the alert (%s)", type(exc).__name__)
