"""Campaign events as rows, and the sweep that turns the due ones into outbox rows.

`activate_campaign` materialises one `daily_post` event per day of the window (at the pack's
delivery hour, Vietnam time, stored in UTC). `sweep_due` runs every minute (scheduler job, or a
test with a FakeClock) and fans today's post out to subscribers, in SQL, as BULK outbox rows.

Decisions (the rules the tests pin down):

- **Only today's post is ever sent.** The "day" is the Vietnam calendar date of `now`. A pending
  event of an earlier day is closed by the next sweep: `done` if its fan-out had started, `missed`
  if nothing went out. We never send yesterday's post late: a post numbered "Day 3/31" arriving on
  day 4, next to day 4's post, reads as a glitch and doubles the day's messages.
- **The event of today is open all day long.** Its `due_at` is the pack's default hour; each
  subscriber's own effective hour (`delivery_hour`, else the pack's) decides when their row is
  inserted, so a resident who picked 07:00 gets it before the default 07:30 and one who picked
  18:00 gets it at 18:00, all under the same BulkRun.
- **Late joiners get today's post.** A resident who subscribes at 15:00 on day 5 is picked up by
  the next sweep and gets day 5's post at once (their effective hour has passed), unless it is
  quiet hours; then it waits until they end (still the same day) — or is never sent if the day
  ends first.
- **Quiet hours** (`pack.delivery.is_quiet`): the sweep enqueues nothing bulk; what fell due waits
  until they end. The dispatcher also holds every row but replies then (`quiet_predicate`):
  posts, broadcasts and deadline reminders.
- **Restarts, late starts and clock jumps are harmless.** Every outbox row carries the dedup key
  `post:<campaign>:<day>:<subscriber id>` (unique), and the sweep only inserts rows whose key is
  absent, so running it twice, after a restart, or after the clock went back, repeats nothing.
  If the clock jumps back into a day whose event was already closed (e.g. a wrong forward jump
  was corrected), that event is reopened: it is today again, and dedup keys stop any repeat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaign import repository as repo
from bot.clock import VN_TZ, format_vn_date
from bot.delivery import keys
from bot.delivery.outbox import encode_choices, start_run
from bot.domain.campaign import CampaignPack, in_lang
from bot.residents.followers import renew_choice
from bot.storage.db import Database
from bot.storage.models.events import CANCELLED, DAILY_POST, PENDING, CampaignEvent
from messages import t

log = logging.getLogger(__name__)

# On a channel with a messaging window (Zalo OA: 7 days from the person's last message), the
# post of someone silent for this long says how to keep receiving, once, before they drop out.
WINDOW_WARNING_AFTER = timedelta(days=6)
WINDOW_LENGTH = timedelta(days=7)

# (pack, day, lang) -> the full text of that day's post in that language.
PostRenderer = Callable[[CampaignPack, int, str], str]


@dataclass(frozen=True, slots=True)
class ActivationResult:
    """What `activate_campaign` changed."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did; counts only, never who."""

    day: int | None = None  # window day of today, None outside the window
    enqueued: int = 0  # outbox rows inserted by this sweep
    run_id: int | None = None
    closed_done: int = 0  # past events closed after their fan-out had started
    closed_missed: int = 0  # past events closed with nothing sent
    quiet: bool = False  # quiet hours: nothing bulk was enqueued
    reopened: bool = False  # today's event had been closed (the clock went back)


def post_event_key(campaign_id: str, day: int) -> str:
    """The unique key of a daily-post event, e.g. `ky-lua-2025:post:3`."""
    return f"{campaign_id}:post:{day}"


def local_datetime(day: date, at: time) -> datetime:
    """A Vietnam wall-clock date and time, as an aware datetime."""
    return datetime.combine(day, at, tzinfo=VN_TZ)


def window_day(pack: CampaignPack, when: datetime) -> int | None:
    """The window day (1-based) of `when` on Vietnam's calendar, or None outside the window."""
    today = when.astimezone(VN_TZ).date()
    if not pack.campaign.start <= today <= pack.campaign.end:
        return None
    return (today - pack.campaign.start).days + 1


def quiet_predicate(pack: CampaignPack) -> Callable[[datetime], bool]:
    """`is_quiet(now_utc)` for the dispatcher: True while the pack's quiet hours last."""
    delivery = pack.delivery

    def is_quiet(now: datetime) -> bool:
        return delivery.is_quiet(now.astimezone(VN_TZ).time())

    return is_quiet


def render_post(pack: CampaignPack, day: int, lang: str) -> str:
    """A day's post for one language: header, the pack's text (English when given), footer."""
    post = pack.post_for(day)
    if post is None:
        raise ValueError(f"the pack has no post for day {day}")
    body = in_lang(lang, post.text, post.text_en)
    header = t("posts.header", lang, day=day, days=pack.window_days)
    footer = t("posts.footer", lang)
    return f"{header}\n\n{body}\n\n{footer}"


def _post_payload(pack: CampaignPack, day: int) -> str:
    return json.dumps({"day": day, "date": pack.day_date(day).isoformat()}, sort_keys=True)


async def activate_campaign(db: Database, pack: CampaignPack, *, now: datetime) -> ActivationResult:
    """Materialise one daily_post event per day of the window that has a post; idempotent.

    Activating again with an edited pack moves or re-describes the events still pending and
    cancels the pending ones the pack dropped; done, missed and cancelled events are left alone.
    """
    campaign_id = pack.campaign.id
    wanted: dict[str, tuple[datetime, str]] = {}
    for day in range(1, pack.window_days + 1):
        if pack.post_for(day) is None:
            continue
        due = local_datetime(pack.day_date(day), pack.delivery.hour_time)
        wanted[post_event_key(campaign_id, day)] = (due, _post_payload(pack, day))

    async with db.session() as session:
        result = await sync_events(
            session,
            campaign_id=campaign_id,
            wanted={key: (DAILY_POST, due, payload) for key, (due, payload) in wanted.items()},
            kinds=(DAILY_POST,),
            now=now,
        )
    log.info(
        "campaign %s activated: %d created, %d updated, %d cancelled, %d unchanged",
        campaign_id,
        result.created,
        result.updated,
        result.cancelled,
        result.unchanged,
    )
    return result


# key → (kind, due_at, payload) of the events a pack wants
WantedEvents = dict[str, tuple[str, datetime, str]]


async def sync_events(
    session: AsyncSession,
    *,
    campaign_id: str,
    wanted: WantedEvents,
    kinds: Sequence[str],
    now: datetime,
) -> ActivationResult:
    """Make the pending events of `kinds` match `wanted`: create, move, cancel; idempotent.

    Done, missed and cancelled events are history and are never touched.
    """
    created = updated = cancelled = unchanged = 0
    existing = await repo.load_events(session, campaign_id=campaign_id, kinds=kinds)
    for key, (kind, due, payload) in wanted.items():
        event = existing.get(key)
        if event is None:
            session.add(
                CampaignEvent(
                    campaign_id=campaign_id,
                    kind=kind,
                    key=key,
                    payload=payload,
                    due_at=due,
                    status=PENDING,
                    created_at=now,
                    updated_at=now,
                )
            )
            created += 1
        elif event.status == PENDING and (event.due_at != due or event.payload != payload):
            event.due_at, event.payload, event.updated_at = due, payload, now
            updated += 1
        else:
            unchanged += 1
    for key, event in existing.items():
        if key not in wanted and event.status == PENDING:
            event.status, event.processed_at, event.updated_at = CANCELLED, now, now
            cancelled += 1
    return ActivationResult(
        created=created, updated=updated, cancelled=cancelled, unchanged=unchanged
    )


def windowed_post(texts: dict[str, str], windowed: Sequence[str]) -> repo.WindowedPost | None:
    """The renewal button and the day-6 note of a post, for channels with a window."""
    if not windowed:
        return None
    return repo.WindowedPost(
        channels=windowed,
        choices={lang: encode_choices([renew_choice(lang)]) for lang in texts},
        ending_texts={
            lang: text + "\n\n" + t("zalo_oa.window_ending", lang) for lang, text in texts.items()
        },
        warn_after=WINDOW_WARNING_AFTER,
        window=WINDOW_LENGTH,
    )


async def sweep_due(
    db: Database,
    pack: CampaignPack,
    *,
    now: datetime,
    lang_text: PostRenderer | None = None,
    channels: Sequence[str] | None = None,
    windowed: Sequence[str] = (),
) -> SweepResult:
    """Close past days' events, then fan today's post out to every subscriber whose hour has come.

    Idempotent: safe to run every minute, twice in a row, after a restart or a clock jump.
    `lang_text(pack, day, lang)` renders a post (default `render_post`); `channels` limits the
    audience to some channels (default: every channel); `windowed` names the channels whose
    messages reach a person only within a window after their last message (Zalo OA).
    """
    render = lang_text or render_post
    campaign_id = pack.campaign.id
    now_local = now.astimezone(VN_TZ)
    today_start = local_datetime(now_local.date(), time(0, 0))
    day = window_day(pack, now)
    async with db.session() as session:
        closed_done, closed_missed = await repo.close_past_posts(
            session, campaign_id=campaign_id, today_start=today_start, now=now
        )
        if day is None or pack.post_for(day) is None:
            return SweepResult(day=day, closed_done=closed_done, closed_missed=closed_missed)
        if pack.delivery.is_quiet(now_local.time()):
            return SweepResult(
                day=day, closed_done=closed_done, closed_missed=closed_missed, quiet=True
            )
        event = await repo.event_by_key(session, post_event_key(campaign_id, day))
        if event is None or event.status == CANCELLED:
            # not activated (or dropped from the pack): nothing to send
            return SweepResult(day=day, closed_done=closed_done, closed_missed=closed_missed)
        reopened = event.status != PENDING
        if reopened:
            log.warning("event %s reopened: the clock is back on its day", event.key)
            event.status = PENDING
            event.processed_at = None
            event.updated_at = now
        if event.run_id is None:
            # Open the day's BulkRun only once someone is due, so no empty run appears at 00:00.
            if not await repo.anyone_due(
                session,
                default_hour=pack.delivery.hour,
                dedup_prefix=keys.post_prefix(campaign_id, day),
                now_local=now_local,
                channels=channels,
            ):
                return SweepResult(
                    day=day,
                    closed_done=closed_done,
                    closed_missed=closed_missed,
                    reopened=reopened,
                )
            label = t(
                "posts.run_label",
                "vi",
                campaign=campaign_id,
                day=day,
                date=format_vn_date(local_datetime(pack.day_date(day), time(12, 0))),
            )
            event.run_id = await start_run(session, kind=DAILY_POST, label=label, now=now)
            event.updated_at = now
        run_id = event.run_id
        texts = {lang: render(pack, day, lang) for lang in ("en", "vi")}
        enqueued = await repo.fan_out(
            session,
            texts=texts,
            default_hour=pack.delivery.hour,
            dedup_prefix=keys.post_prefix(campaign_id, day),
            run_id=run_id,
            now=now,
            now_local=now_local,
            channels=channels,
            windowed=windowed_post(texts, windowed),
        )
        if enqueued:
            await repo.add_to_run(session, run_id=run_id, enqueued=enqueued)
    return SweepResult(
        day=day,
        enqueued=enqueued,
        run_id=run_id,
        closed_done=closed_done,
        closed_missed=closed_missed,
        reopened=reopened,
    )
