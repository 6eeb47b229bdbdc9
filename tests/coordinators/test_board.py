"""The board: counts per deadline, missing agencies grouped by type, what Loa delivered, and
the plan's measurable targets; the focal office not expected unless its pack says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from bot.campaign.events import activate_campaign, sweep_due
from bot.clock import VN_TZ, FakeClock
from bot.coordinators.board import Reach, board_view, quarter_bounds
from bot.coordinators.board_text import reach_lines
from bot.domain.campaign import CampaignPack, Target
from bot.domain.forms import FormData
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from bot.storage.models import delivery as outbox_status
from tests.support.campaign import add_subscriber, make_pack, update_subscriber, vn
from tests.support.coordinators import BEFORE, LATE, submit
from tests.support.reporting import reporting_pack


def test_the_focal_office_owes_no_report_unless_its_pack_says_so() -> None:
    base = reporting_pack().model_dump()
    focal = {"id": "vhxh", "name": "Phòng Văn hóa - Xã hội phường", "type": "office"}
    base["agencies"] = [focal, {"id": "ca", "name": "Công an phường", "type": "police"}]
    pack = CampaignPack.model_validate(base)
    assert [a.reports for a in pack.agencies] == [False, True]
    base["agencies"][0] = {**focal, "reports": True}
    assert CampaignPack.model_validate(base).agencies[0].reports is True


def test_quarters_follow_the_vietnamese_calendar() -> None:
    # 31/12/2025 23:30 in Vietnam is still the fourth quarter there (16:30 UTC)
    start, end, quarter = quarter_bounds(datetime(2025, 12, 31, 16, 30, tzinfo=UTC))
    assert (quarter, start, end) == (
        4,
        datetime(2025, 10, 1, tzinfo=VN_TZ),
        datetime(2026, 1, 1, tzinfo=VN_TZ),
    )
    assert quarter_bounds(datetime(2025, 12, 31, 17, 0, tzinfo=UTC))[2] == 1


async def test_board_counts_on_time_late_and_missing(db: Database) -> None:
    pack = reporting_pack(groups=47)
    for agency in ("kp-3", "kp-12"):
        await submit(db, pack, agency, FormData(), now=BEFORE)
    await submit(db, pack, "kp-12", FormData(), now=BEFORE + timedelta(hours=2))  # amended
    await submit(db, pack, "tram-y-te", FormData(), now=LATE)
    view = await board_view(db, pack, FakeClock(LATE + timedelta(hours=1)), "vi")
    (item,) = view.board.deadlines
    # 4 offices and 47 khối phố; the focal office receives the reports and owes none
    assert (item.expected, item.submitted, item.on_time, item.late, item.missing) == (
        51,
        3,
        2,
        1,
        48,
    )
    lines = view.text.splitlines()
    assert "Phải gửi 51 · đã gửi 3 (đúng hạn 2, muộn 1) · chưa gửi 48" in lines
    assert "Đã quá hạn, chưa gửi:" in lines
    assert "• Khối phố: 45/47 chưa gửi — trừ 3, 12" in lines
    assert "• Trạm Y tế phường" not in lines
    assert not any("Phòng Văn hóa" in line for line in lines)
    assert len(view.text) < 2000
    english = await board_view(db, pack, FakeClock(BEFORE), "en")  # before the deadline
    assert "Expected 51 · sent 3 (on time 2, late 1) · missing 48" in english.text
    assert "Not sent yet:" in english.text
    assert "• Khối phố: 45/47 not sent — all but 3, 12" in english.text


async def test_board_measures_posts_groups_reached_and_subscribers(db: Database) -> None:
    data = make_pack().model_dump()
    data["targets"] = [
        Target(id="posts", text="≥ 4 tin, bài mỗi quý", value=4, period="quarter", measure="posts"),
        Target(id="reach", text="100% khối phố", value=100, measure="groups_reached"),
        Target(id="talks", text="≥ 2 hội nghị mỗi năm", value=2),
    ]
    pack = CampaignPack.model_validate(data)
    day1 = date(2025, 11, 15)
    await activate_campaign(db, pack, now=vn(day1, 6))
    for chat, group, channel in [
        ("a", "Khối phố 1", "telegram"),
        ("b", "Khối phố 1", "telegram"),
        ("c", "Khối phố 2", "zalo"),
        ("d", None, "telegram"),
        ("e", "Khối phố 3", "zalo"),
    ]:
        await add_subscriber(db, chat, now=vn(day1, 6), channel=channel)
        await update_subscriber(db, chat, group_code=group)
    for day in range(5):
        moment = vn(day1 + timedelta(days=day), 8)
        await sweep_due(db, pack, now=moment)
        await _deliver(db, moment, fail={"c"})  # Khối phố 2's only resident never got one
    await update_subscriber(db, "e", status="stopped")  # reached, then stopped
    view = await board_view(db, pack, FakeClock(vn(date(2025, 11, 20), 9)), "vi")
    reach = view.board.reach
    assert (reach.quarter, reach.posts_this_quarter, reach.posts_this_year) == (4, 5, 5)
    assert (reach.groups_reached, reach.groups_total) == (2, 47)
    assert reach.subscribers == {
        ("Khối phố 1", "telegram"): 2,
        ("Khối phố 2", "zalo"): 1,
        (None, "telegram"): 1,
    }
    assert [p.measured for p in view.board.targets] == [5.0, round(200 / 47, 1), None]
    lines = view.text.splitlines()
    assert "• Bài đã gửi quý 4/2025: 5 (cả năm: 5)" in lines
    assert "• Khối phố đã nhận bài năm 2025: 2/47 (4,3%)" in lines
    assert "• Người đăng ký: 4 (Telegram 3, Zalo 1); 2/47 khối phố có người đăng ký" in lines
    assert "• ✅ ≥ 4 tin, bài mỗi quý: 5/4" in lines
    assert "• ⏳ 100% khối phố: 4,3/100" in lines
    assert "• ≥ 2 hội nghị mỗi năm (Loa không đếm được)" in lines


async def _deliver(db: Database, now: datetime, *, fail: set[str]) -> None:
    """What the dispatcher records: pending rows sent, some failed."""
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.status) == outbox_status.PENDING,
                col(OutboxMessage.chat_id).not_in(fail),
            )
            .values(status=outbox_status.SENT, sent_at=now)
        )
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == outbox_status.PENDING)
            .values(status=outbox_status.FAILED)
        )


def test_channels_are_named_in_words_on_the_board() -> None:
    """«Zalo OA», not «Zalo_oa» (what `str.capitalize` made of the channel id)."""
    reach = Reach(
        quarter=4, year=2025, posts_this_quarter=0, posts_this_year=0, groups_total=3,
        groups_reached=0,
        subscribers={("Khối phố 1", "telegram"): 2, ("Khối phố 1", "zalo_oa"): 1,
                     (None, "zalo"): 1},
    )  # fmt: skip
    vi = reach_lines(reach, "khối phố", "vi")
    assert "• Người đăng ký: 4 (Telegram 2, Zalo 1, Zalo OA 1); 1/3 khối phố có người đăng ký" in vi
    en = "\n".join(reach_lines(reach, "khối phố", "en"))
    assert "(Telegram 2, Zalo 1, Zalo OA 1)" in en
    assert "Zalo_oa" not in en
