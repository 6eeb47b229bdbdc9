"""A residential group renamed in the pack: its residents follow the new name at start-up, and
names that still hold residents but are no longer listed are reported."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import col

from bot.app import build_loa
from bot.clock import FakeClock
from bot.domain.campaign import ResidentialGroups
from bot.domain.pack_issues import PackIssues
from bot.residents.groups import follow_group_renames
from bot.storage.db import Database
from bot.storage.models import Subscriber
from tests.support.chat import ChatDriver
from tests.support.pack import small_pack

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)
OLD = ["Tổ 1", "Tổ 2 cũ", "Tổ 3"]


async def groups_of(db: Database) -> list[str | None]:
    async with db.session() as session:
        stmt = select(col(Subscriber.group_code)).order_by(col(Subscriber.chat_id))
        rows = await session.execute(stmt)
        return list(rows.scalars())


async def test_residents_of_a_renamed_group_follow_it(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    before = small_pack().model_copy(
        update={"residential_groups": ResidentialGroups(kind="tổ dân phố", names=OLD)}
    )
    clock = FakeClock(START)
    loa = build_loa(db=db, pack=before, clock=clock, channels={})
    for chat_id, group in (("8101", "Tổ 2 cũ"), ("8102", "Tổ 2 cũ"), ("8103", "Tổ 3")):
        chat = ChatDriver(loa.conversation, clock, chat_id=chat_id)
        await chat.type("/start")
        await chat.press_label("Tiếng Việt")
        await chat.press_label(group)
    groups = ResidentialGroups(
        kind="tổ dân phố", names=["Tổ 1", "Tổ dân phố 2"], renamed={"Tổ 2 cũ": "Tổ dân phố 2"}
    )
    after = small_pack().model_copy(update={"residential_groups": groups})
    with caplog.at_level(logging.INFO, logger="bot.residents.groups"):
        assert await follow_group_renames(db, after) == 2
    assert await groups_of(db) == ["Tổ dân phố 2", "Tổ dân phố 2", "Tổ 3"]
    # «Tổ 3» was dropped without a rename: said, with its count, so the ward can fix the pack
    assert "'Tổ 3' (1)" in caplog.text
    assert await follow_group_renames(db, after) == 0  # idempotent


@pytest.mark.parametrize(
    ("renamed", "code"),
    [({"Tổ 2 cũ": "Tổ 9"}, "renamed_unknown"), ({"Tổ 1": "Tổ 3"}, "renamed_listed")],
)
def test_a_rename_must_point_at_a_listed_group_from_an_unlisted_one(
    renamed: dict[str, str], code: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ResidentialGroups(kind="tổ dân phố", names=OLD[:1] + OLD[2:], renamed=renamed)
    cause = caught.value.errors()[0]["ctx"]["error"]
    assert isinstance(cause, PackIssues)
    assert [getattr(issue, "code", None) for _, issue in cause.issues] == [code]
