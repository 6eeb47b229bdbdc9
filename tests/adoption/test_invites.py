"""Invites that explain themselves: the bot name from getMe, closest agencies, `loa agencies`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.adoption.agencies import agency_lines
from bot.channels.telegram.identity import UsernameUnavailable, bot_username
from bot.config import Settings
from bot.reporting.officials import InviteError, find_agency
from fakes.botapi import FakeBotApi
from messages.packs import load_pack


def settings(**values: str) -> Settings:
    base = {"telegram_bot_username": "", "telegram_bot_token": ""}
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[arg-type]


async def test_the_setting_wins_without_asking_telegram(fake_botapi: FakeBotApi) -> None:
    chosen = settings(
        telegram_bot_username="@phuong_bot",
        telegram_bot_token="7000000001:x",
        telegram_api_base_url=f"{fake_botapi.url}/bot",
    )
    assert await bot_username(chosen) == "phuong_bot"
    assert fake_botapi.method_calls["getMe"] == 0


async def test_getme_gives_the_name_when_only_the_token_is_set(fake_botapi: FakeBotApi) -> None:
    asked = settings(
        telegram_bot_token="7000000001:x", telegram_api_base_url=f"{fake_botapi.url}/bot"
    )
    assert await bot_username(asked) == fake_botapi.bot_username
    assert fake_botapi.method_calls["getMe"] == 1


async def test_a_refused_getme_names_the_settings_to_check(fake_botapi: FakeBotApi) -> None:
    fake_botapi.fail_next("getMe", status=401, description="Unauthorized")
    refused = settings(
        telegram_bot_token="7000000001:x", telegram_api_base_url=f"{fake_botapi.url}/bot"
    )
    with pytest.raises(UsernameUnavailable) as caught:
        await bot_username(refused)
    assert "HTTP 401" in str(caught.value)
    assert "TELEGRAM_BOT_TOKEN" in str(caught.value)
    assert "7000000001:x" not in str(caught.value)


async def test_nothing_set_says_exactly_which_setting_is_missing() -> None:
    with pytest.raises(UsernameUnavailable) as caught:
        await bot_username(settings())
    vi, en = str(caught.value).splitlines()
    assert "TELEGRAM_BOT_USERNAME" in vi
    assert "set TELEGRAM_BOT_USERNAME" in en
    assert "TELEGRAM_BOT_TOKEN" in en


def test_a_wrong_agency_name_lists_the_closest_ones() -> None:
    pack = load_pack("ky-lua-2026")
    assert find_agency(pack, "tram y te").id == "tram-y-te"
    with pytest.raises(InviteError) as caught:
        find_agency(pack, "Cong an xa")
    assert "Gần giống: «Công an phường»" in str(caught.value)
    assert "loa agencies" in str(caught.value)
    with pytest.raises(InviteError, match="Hội Liên hiệp Phụ nữ phường"):
        find_agency(pack, "Hoi Lien Hiep Phu Nu xa")


def test_agencies_are_listed_in_vietnamese_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = agency_lines(load_pack("ky-lua-2026"))
    assert len(lines) == 54
    assert lines[0].startswith("truong-hoc  Các trường học")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOA_CAMPAIGN", "ky-lua-2026")
    assert main(["agencies"]) == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_numbered_agencies_are_listed_with_numbers_as_numbers() -> None:
    lines = agency_lines(load_pack("ky-lua-2026"))
    groups = [line.split("  (")[0].split("  ")[-1].strip() for line in lines if "Khối phố" in line]
    assert groups[:3] == ["Khối phố 1", "Khối phố 2", "Khối phố 3"]
    assert groups[-1] == "Khối phố 47"


def test_agency_lines_name_the_type_and_a_report_not_owed_in_words() -> None:
    """The office PC's list reads in Vietnamese: the type's words (with the id `type:` takes)
    and, for the focal office, that it owes no report."""
    lines = agency_lines(load_pack("ky-lua-2026"))
    assert lines[0] == "truong-hoc  Các trường học  (Trường học: school)"
    focal = next(line for line in lines if line.startswith("phong-vhxh "))
    assert focal.endswith("(Phòng, ban: office; không phải nộp báo cáo)")
    assert not any("no report" in line for line in lines)
