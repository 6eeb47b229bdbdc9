"""The coordinator's chat commands: /tinhhinh (the board, and a button that reminds every missing
agency now) and /xuatbaocao (the summed report's four files); the binding hook that audits a new
official or coordinator and gives the chat its role's command menu.

Files travel through the outbox like every send: as documents where the channel carries files
(Telegram), else as signed links that expire after a day (Zalo), served by the web server.

Rendering takes seconds for a hundred agencies, so the turn only reads the reports and answers
«preparing»; the files are rendered in a thread after it and queued in a transaction of their
own (a chat turn holds the database's write lock while it runs). Their outbox rows carry the
update's id in their dedup key, so a turn retried after a busy database queues them once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.channels.base import Attachment, Choice, Outbound
from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.clock import format_vn_datetime
from bot.coordinators import audit, links, roles
from bot.coordinators import repository as records
from bot.coordinators.board import agency_statuses, read_board
from bot.coordinators.board_text import render_board
from bot.coordinators.buttons import NudgeButton
from bot.coordinators.export.files import FORMATS, MEDIA_TYPES, ExportFile, filename, render
from bot.coordinators.export.summary import (
    NoDeadline,
    ReportSummary,
    pick_deadline,
    summarise_data,
)
from bot.coordinators.filestore import FileStore, StoredFile
from bot.delivery.outbox import OutboxItem, Priority, enqueue, start_run
from bot.domain.campaign import CampaignPack
from bot.reporting import reports as service
from bot.reporting import repository as officials_repo
from bot.storage.db import Database
from bot.storage.models import Official
from messages import t

log = logging.getLogger(__name__)

NUDGE_EVERY = timedelta(hours=1)


def render_all(summary: ReportSummary, lang: str) -> list[ExportFile]:
    """The four files of the summed report (CPU work: run it in a thread)."""
    return [
        ExportFile(filename(summary, fmt), MEDIA_TYPES[fmt], render(summary, fmt, lang))
        for fmt in FORMATS
    ]


@dataclass(frozen=True, slots=True)
class ExportJob:
    """What the export needs after the turn: where to send, in which language, what to render."""

    channel: str
    chat_id: str
    update_id: str
    lang: str
    actor: str
    summary: ReportSummary
    at: datetime


class Coordinators:
    """The coordinator's board and exports in the chat, for one campaign pack."""

    def __init__(
        self,
        pack: CampaignPack,
        *,
        db: Database,
        key: bytes,
        files: FileStore,
        file_channels: Collection[str],
        public_url: str | None = None,
        notify: Callable[[], None] = lambda: None,
        template_quota: Mapping[str, int] | None = None,
    ) -> None:
        self.pack = pack
        # the Zalo OA's daily template cap when its template lane is on (for the board)
        self.template_quota = (template_quota or {}).get("zalo_oa")
        self.db = db
        self.notify = notify
        self._jobs: set[asyncio.Task[None]] = set()
        self.key = key
        self.files = files
        self.file_channels = frozenset(file_channels)
        self.public_url = public_url.rstrip("/") if public_url else None

    def register(self, router: Router) -> None:
        """Add the coordinator's board and export commands and their buttons."""
        router.command(("tinhhinh", "board"), self.board)
        router.command(("xuatbaocao", "export"), self.export)
        router.choice(NudgeButton, self.on_button)

    # ---- binding --------------------------------------------------------------------------

    async def on_bound(self, turn: Turn, official: Official, outcome: str) -> None:
        """A chat was bound with an invite code: audit it, and set its role's command menu."""
        role = roles.role_of(official)
        await audit.record(
            turn.session,
            now=turn.now,
            role=role,
            actor=roles.actor_of(self.key, official, turn.channel, turn.chat_id),
            action="bound" if outcome == "bound" else "rebound",
            detail=f"{role} {official.agency_id or ''}".strip(),
        )
        if turn.replies:
            turn.replies[-1] = replace(turn.replies[-1], menu=roles.menu(role, turn.lang))

    # ---- the board ------------------------------------------------------------------------

    async def board(self, turn: Turn) -> None:
        """/tinhhinh: the board, with a «remind the missing now» button per open deadline."""
        if await roles.require_coordinator(turn, key=self.key, command="tinhhinh") is None:
            return
        board = await read_board(
            turn.session,
            self.pack,
            now=turn.now,
            lang=turn.lang,
            template_quota=self.template_quota,
        )
        buttons = [
            Choice(
                label=turn.text(
                    "coordinators.nudge.button",
                    missing=item.missing,
                    due=service.format_due(item.deadline),
                ),
                data=NudgeButton(deadline=item.deadline.id).pack(),
            )
            for item in board.deadlines
            if item.missing > 0
        ]
        turn.say_text(render_board(board, turn.lang), choices=buttons)

    async def on_button(self, turn: Turn) -> None:
        """A coordinator's button (`co:…`)."""
        button = NudgeButton.unpack(turn.inbound.choice_data)
        if button is None:
            turn.say("coordinators.chat.stale_button")
            return
        await self.nudge(turn, button.deadline)

    async def nudge(self, turn: Turn, deadline_id: str) -> None:
        """Remind every official of an agency still missing for the deadline (once an hour)."""
        official = await roles.require_coordinator(turn, key=self.key, command="tinhhinh")
        if official is None:
            return
        deadline = service.deadline_by_id(self.pack, deadline_id)
        if deadline is None:
            turn.say("coordinators.chat.stale_button")
            return
        last = await audit.last_at(turn.session, action="nudge", detail=deadline.id)
        if last is not None and turn.now - last < NUDGE_EVERY:
            turn.say(
                "coordinators.nudge.too_soon",
                at=format_vn_datetime(last),
                next=format_vn_datetime(last + NUDGE_EVERY),
            )
            return
        missing = await service.missing_agencies(turn.session, self.pack, deadline)
        if not missing:
            turn.say("coordinators.nudge.none_missing")
            return
        names = {a.id: a.name for a in missing}
        recipients = await officials_repo.officials_of(turn.session, agency_ids=list(names))
        run_id = await start_run(
            turn.session, kind="reminder", label=f"nudge {deadline.id}", now=turn.now
        )
        bucket = int(turn.now.timestamp() // NUDGE_EVERY.total_seconds())
        items = []
        for person in recipients:
            assert person.agency_id is not None
            text = turn.text(
                "coordinators.nudge.text",
                deadline=service.deadline_title(deadline, turn.lang),
                agency=names[person.agency_id],
                due=service.format_due(deadline),
            )
            items.append(
                OutboxItem(
                    message=Outbound(channel=person.channel, chat_id=person.chat_id, text=text),
                    priority=Priority.DIRECT,
                    run_id=run_id,
                    dedup_key=f"nudge:{deadline.id}:{bucket}:{person.id}",
                )
            )
        queued = await enqueue(turn.session, items, now=turn.now)
        reached = len({p.agency_id for p in recipients})
        await audit.record(
            turn.session,
            now=turn.now,
            role="coordinator",
            actor=roles.actor_of(self.key, official, turn.channel, turn.chat_id),
            action="nudge",
            detail=deadline.id,
        )
        turn.say(
            "coordinators.nudge.done",
            agencies=reached,
            people=queued,
            unreachable=len(missing) - reached,
        )

    # ---- the summed report ----------------------------------------------------------------

    async def export(self, turn: Turn) -> None:
        """/xuatbaocao [deadline id]: the four files, in the chat or as signed links."""
        official = await roles.require_coordinator(turn, key=self.key, command="xuatbaocao")
        if official is None:
            return
        wanted = turn.inbound.args.strip() or None
        try:
            deadline = pick_deadline(self.pack, wanted, turn.now)
        except NoDeadline:
            if wanted is None:
                turn.say("coordinators.export.no_deadline")
            else:
                known = ", ".join(d.id for d in self.pack.deadlines)
                turn.say("coordinators.export.unknown_deadline", deadline=wanted[:40], known=known)
            return
        sent = await records.sent_reports(turn.session, deadline_id=deadline.id)
        statuses = agency_statuses(self.pack, sent)
        summary = summarise_data(self.pack, deadline, statuses, now=turn.now)
        turn.say(
            "coordinators.export.preparing",
            deadline=service.deadline_title(deadline, turn.lang),
            agencies=summary_count(summary),
        )
        job = ExportJob(
            channel=turn.channel,
            chat_id=turn.chat_id,
            update_id=turn.inbound.update_id,
            lang=turn.lang,
            actor=roles.actor_of(self.key, official, turn.channel, turn.chat_id),
            summary=summary,
            at=turn.now,
        )
        task = asyncio.create_task(self._deliver(job))
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def wait_idle(self) -> None:
        """Wait for the exports being prepared (tests, the demo, shutdown)."""
        while self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)

    async def _deliver(self, job: ExportJob) -> None:
        """Render, store, and queue the files (or their links) with the audit entry."""
        try:
            rendered = await asyncio.to_thread(render_all, job.summary, job.lang)
            stored = [await asyncio.to_thread(self.files.save, file) for file in rendered]
            await asyncio.to_thread(self.files.purge)
            replies, how = self._file_replies(job, stored)
        except Exception as exc:  # a rendering bug must still get the coordinator an answer
            log.error("export failed: %s", type(exc).__name__)
            failed = t("coordinators.export.failed", job.lang)
            replies, how = [Outbound(job.channel, job.chat_id, failed)], "failed"
        items = [
            OutboxItem(reply, Priority.REPLY, dedup_key=f"export:{job.channel}:{job.update_id}:{n}")
            for n, reply in enumerate(replies)
        ]
        async with self.db.session() as session:
            if await enqueue(session, items, now=job.at):
                await audit.record(
                    session,
                    now=job.at,
                    role="coordinator",
                    actor=job.actor,
                    action="export",
                    detail=f"{job.summary.deadline.id} xlsx,docx,csv,png {how}",
                )
        self.notify()

    def _file_replies(self, job: ExportJob, stored: list[StoredFile]) -> tuple[list[Outbound], str]:
        if job.channel in self.file_channels:
            return [
                Outbound(
                    channel=job.channel,
                    chat_id=job.chat_id,
                    text=file.filename,
                    attachment=Attachment(
                        path=str(file.path),
                        filename=file.filename,
                        media_type=file.media_type,
                        photo=file.media_type == "image/png",
                    ),
                )
                for file in stored
            ], "chat"
        if self.public_url is None:
            text = t("coordinators.export.no_links", job.lang)
            return [Outbound(job.channel, job.chat_id, text)], "none"
        lines = [
            f"• {self.public_url}{links.signed_path(self.key, file, now=job.at)}" for file in stored
        ]
        until = format_vn_datetime(job.at + links.LINK_TTL)
        intro = t("coordinators.export.links", job.lang, until=until)
        return [Outbound(job.channel, job.chat_id, "\n".join([intro, *lines]))], "links"


def summary_count(summary: ReportSummary) -> int:
    """How many agencies' reports the files sum."""
    return sum(1 for status in summary.statuses if status.report is not None)
