"""The campaign pack model: its cross-field checks, their locations, and the optional fields."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from pydantic import ValidationError

from bot.domain.campaign import (
    CampaignPack,
    DailyPost,
    Delivery,
    Hotline,
    PackIssues,
    ReportForm,
    ResidentialGroups,
    SloganGroup,
)


def pack_data(days: int = 3, **changes: Any) -> dict[str, Any]:
    """A valid pack as plain data, with `changes` applied to the top level."""
    data: dict[str, Any] = {
        "campaign": {
            "id": "thu-2025",
            "locality": "Phường Thử",
            "year": 2025,
            "title": "Tháng hành động",
            "theme": "Chủ đề",
            "start": date(2025, 11, 15),
            "end": date(2025, 11, 14 + days),
            "focal_agency": "Phòng Văn hóa - Xã hội",
        },
        "daily_posts": [{"day": d, "text": f"Tin {d}."} for d in range(1, days + 1)],
        "hotlines": [{"name": "Tổng đài quốc gia bảo vệ trẻ em", "number": "111"}],
        "residential_groups": {"kind": "khối phố", "count": 2},
    }
    data.update(changes)
    return data


def issues_of(exc: ValidationError) -> list[tuple[tuple[str | int, ...], str]]:
    """Every (full location, message) in the error, PackIssues expanded."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    for error in exc.errors():
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, PackIssues):
            out += [((*error["loc"], *loc), message) for loc, message in cause.issues]
        else:
            out.append((tuple(error["loc"]), error["msg"]))
    return out


def test_a_valid_pack_validates_and_english_fields_default_empty() -> None:
    pack = CampaignPack.model_validate(pack_data())
    assert pack.window_days == 3
    assert pack.day_date(3) == date(2025, 11, 17)
    assert pack.campaign.theme_en == pack.campaign.title_en == ""
    assert pack.daily_posts[0].text_en == ""
    assert Hotline(name="Công an", number="113").name_en == ""
    assert SloganGroup(id="a", title="Nhóm", slogans=["x"]).title_en == ""


def test_window_ending_before_start_points_at_end() -> None:
    data = pack_data(days=1)
    data["campaign"]["end"] = date(2025, 11, 10)
    with pytest.raises(ValidationError) as caught:
        CampaignPack.model_validate(data)
    assert issues_of(caught.value) == [
        (("campaign", "end"), "the window ends (10/11/2025) before it starts (15/11/2025)")
    ]


def test_every_window_day_needs_a_post() -> None:
    data = pack_data(days=5, daily_posts=[{"day": 1, "text": "a"}, {"day": 4, "text": "b"}])
    with pytest.raises(ValidationError) as caught:
        CampaignPack.model_validate(data)
    assert issues_of(caught.value) == [
        (
            ("daily_posts",),
            "no daily post for window day 2 (16/11/2025), 3 (17/11/2025), 5 (19/11/2025)",
        )
    ]


def test_post_days_repeat_or_fall_after_the_window() -> None:
    posts = [{"day": d, "text": "x"} for d in (1, 2, 2, 3, 9)]
    with pytest.raises(ValidationError) as caught:
        CampaignPack.model_validate(pack_data(daily_posts=posts))
    assert issues_of(caught.value) == [
        (("daily_posts", 2, "day"), "daily post for day '2' is given twice"),
        (("daily_posts", 4, "day"), "daily post for day 9 falls after the window (3 days)"),
    ]


def test_repeated_ids_are_each_reported_at_the_later_entry() -> None:
    agency = {"name": "X", "type": "office"}
    data = pack_data(
        agencies=[{"id": "a", **agency}, {"id": "b", **agency}, {"id": "a", **agency}],
        slogan_groups=[{"id": "a", "title": "A", "slogans": ["x"]}] * 2,
    )
    with pytest.raises(ValidationError) as caught:
        CampaignPack.model_validate(data)
    assert sorted(issues_of(caught.value)) == [
        (("agencies", 2, "id"), "agency id 'a' is given twice"),
        (("slogan_groups", 1, "id"), "slogan group id 'a' is given twice"),
    ]


def test_a_broken_entry_does_not_hide_other_problems() -> None:
    posts = [{"day": 1, "text": "x" * 2001}, {"day": 2, "text": "y"}, {"day": 3, "text": "z"}]
    agency = {"name": "X", "type": "office"}
    data = pack_data(
        daily_posts=posts,
        delivery={"hour": "25:00"},
        agencies=[{"id": "a", **agency}, {"id": "a", **agency}],
    )
    with pytest.raises(ValidationError) as caught:
        CampaignPack.model_validate(data)
    locations = [loc for loc, _ in issues_of(caught.value)]
    assert locations == [("delivery", "hour"), ("daily_posts", 0, "text"), ("agencies", 1, "id")]


def test_deadlines_need_a_report_form() -> None:
    data = pack_data(deadlines=[{"id": "bao-cao", "title": "Báo cáo", "due": date(2025, 12, 18)}])
    with pytest.raises(ValidationError) as caught:
        CampaignPack.model_validate(data)
    assert issues_of(caught.value) == [
        (("deadlines",), "the pack has deadlines but no report_form")
    ]


def test_report_form_references_are_checked_with_locations() -> None:
    count = {"type": "count", "label": "Số"}
    form = {
        "title": "Báo cáo",
        "sections": [
            {"id": "t", "title": "T", "kind": "table", "fields": [{"id": "n", **count}]},
            {"id": "t", "title": "T2", "kind": "fields", "fields": [{"id": "m", **count}]},
        ],
        "checks": [{"kind": "requires_positive", "section": "x", "fields": ["n"], "target": "n"}],
        "quick": [{"alias": "qq", "section": "t", "fields": ["zz"]}],
    }
    with pytest.raises(ValidationError) as caught:
        ReportForm.model_validate(form)
    assert issues_of(caught.value) == [
        (("sections", 1, "id"), "section id 't' is given twice"),
        (("checks", 0, "section"), "unknown section 'x'"),
        (("quick", 0), "quick form 'qq': unknown field 'zz'"),
    ]


def test_delivery_hours_and_quiet_time() -> None:
    delivery = Delivery()
    assert delivery.hour_time == time(7, 30)
    assert delivery.is_quiet(time(22, 0))
    assert delivery.is_quiet(time(6, 59))
    assert not delivery.is_quiet(time(7, 0))
    with pytest.raises(ValidationError, match="not a time of day"):
        Delivery(hour="25:00")


def test_residential_group_names_from_count() -> None:
    assert ResidentialGroups(kind="khối phố", count=3).all_names() == [
        "Khối phố 1",
        "Khối phố 2",
        "Khối phố 3",
    ]
    with pytest.raises(ValidationError, match="either names or count"):
        ResidentialGroups(kind="thôn")


def test_post_text_is_bounded_by_zalos_limit() -> None:
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        DailyPost(day=1, text="x" * 2001)
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        DailyPost(day=1, text="x", text_en="y" * 2001)
