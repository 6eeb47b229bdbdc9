"""Reporting test helpers: the pack, a wired conversation, bound official chats, a filled form."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import FakeClock
from bot.domain.campaign import Agency, CampaignPack, Deadline, ReportForm
from bot.reporting.chat import Reporting
from bot.reporting.officials import create_invite
from bot.residents.chat import Residents
from bot.residents.distress import Distress
from bot.storage.db import Database
from messages import MESSAGES_DIR
from tests.support.chat import ChatDriver
from tests.support.pack import small_pack

FORM_FILE = Path(MESSAGES_DIR) / "campaigns" / "form-commune.toml"
# 10/12/2025 09:00 Vietnam time: eight days before the deadline (before 18/12/2025).
START = datetime(2025, 12, 10, 2, 0, tzinfo=UTC)


def commune_form() -> ReportForm:
    """The shipped commune report form (seed 002's outline)."""
    with FORM_FILE.open("rb") as fh:
        return ReportForm.model_validate(tomllib.load(fh)["report_form"])


def reporting_pack(*, groups: int = 3) -> CampaignPack:
    """The small test pack plus agencies (a few offices and `groups` khối phố), one deadline."""
    agencies = [
        Agency(id="vhxh", name="Phòng Văn hóa - Xã hội", type="office", reports=False),
        Agency(id="tram-y-te", name="Trạm Y tế phường", type="health_station"),
        Agency(id="truong-thcs", name="Trường THCS Đông Kinh", type="school"),
        Agency(id="hoi-phu-nu", name="Hội Liên hiệp Phụ nữ phường", type="womens_union"),
        Agency(id="cong-an", name="Công an phường", type="police"),
        *[
            Agency(id=f"kp-{n}", name=f"Khối phố {n}", type="residential_group")
            for n in range(1, groups + 1)
        ],
    ]
    deadline = Deadline(
        id="thang-hanh-dong", title="Báo cáo Tháng hành động 2025", due=date(2025, 12, 18)
    )
    data = small_pack().model_dump()
    data.update(
        agencies=[a.model_dump() for a in agencies],
        deadlines=[deadline.model_dump()],
        report_form=commune_form().model_dump(),
    )
    return CampaignPack.model_validate(data)


def make_conversation(db: Database, clock: FakeClock, pack: CampaignPack) -> Conversation:
    """Residents and Reporting wired as build_loa wires them."""
    router = Router()
    reporting = Reporting(pack)
    Distress(pack).register(router)
    Residents(
        pack,
        start_payload=reporting.start_payload,
        role_start=reporting.role_start,
        role_help=reporting.role_help,
    ).register(router)
    reporting.register(router)
    return Conversation(db, router, clock)


async def bound_chat(
    db: Database, clock: FakeClock, pack: CampaignPack, agency_id: str, chat_id: str = "2001"
) -> ChatDriver:
    """A chat bound to `agency_id` through a deep-link `/start <code>`."""
    invite = await create_invite(
        db, pack=pack, role="official", agency_id=agency_id, now=clock.now()
    )
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id=chat_id)
    await chat.type(f"/start {invite.code}")
    assert "Đã xác nhận" in chat.texts(), chat.texts()
    return chat


async def fill_minimal_report(chat: ChatDriver) -> None:
    """Empty activities and products, one media row, no budget, one text; ends at the summary."""
    await chat.type("/baocao")
    await chat.press_label("Không có")
    await chat.press_label("Loa truyền thanh")
    for answer in ("12", "300", "450"):
        await chat.type(answer)
    await chat.press_label("Cấp xã (phường, xã)")
    await chat.press_label("Không")
    await chat.press_label("Không có")
    await chat.type("bỏ qua")
    await chat.type("bỏ qua")
    await chat.type("Người dân hưởng ứng tích cực.")
    await chat.press_label("Bỏ qua")
    await chat.press_label("Bỏ qua")
    assert "Tóm tắt báo cáo" in chat.texts()
