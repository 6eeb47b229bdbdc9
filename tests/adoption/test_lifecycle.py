"""Campaign lifecycle: states on Vietnam's calendar, `loa campaign list`, and refusing an ended
campaign in `loa run` / `loa invite` (the clock is injected, so these tests never expire)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.adoption.lifecycle import ended_refusal, list_lines, pack_state, vn_today
from bot.clock import FakeClock
from messages.packs import load_pack


def at(day: date, hour_vn: int = 9) -> FakeClock:
    """A clock at `hour_vn` o'clock Vietnam time on `day`."""
    return FakeClock(datetime(day.year, day.month, day.day, hour_vn - 7, tzinfo=UTC))


@pytest.mark.parametrize(
    ("today", "state"),
    [
        (date(2025, 11, 14), "coming"),
        (date(2025, 11, 15), "running"),
        (date(2025, 12, 15), "running"),
        (date(2025, 12, 18), "running"),  # reports still taken until the deadline day
        (date(2025, 12, 19), "over"),
    ],
)
def test_states_follow_the_window_and_the_last_deadline(today: date, state: str) -> None:
    assert pack_state(load_pack("ky-lua-2025"), today) == state


def test_today_is_vietnams_date() -> None:
    assert vn_today(datetime(2025, 12, 18, 17, 30, tzinfo=UTC)) == date(2025, 12, 19)
    assert vn_today(datetime(2025, 12, 18, 16, 59, tzinfo=UTC)) == date(2025, 12, 18)


def test_list_shows_window_and_state() -> None:
    lines = {line.split()[0]: line for line in list_lines(date(2026, 11, 1))}
    assert "15/11/2025–15/12/2025  đã kết thúc / over" in lines["ky-lua-2025"]
    assert "15/11/2026–15/12/2026  sắp tới / coming" in lines["ky-lua-2026"]
    reporting = {line.split()[0]: line for line in list_lines(date(2025, 12, 16))}
    assert "đang nhận báo cáo (đến 18/12/2025) / taking reports" in reporting["ky-lua-2025"]


def test_an_ended_pack_names_this_years_pack_or_the_roll_command() -> None:
    refusal = ended_refusal(load_pack("ky-lua-2025"), date(2026, 11, 29))
    assert refusal is not None
    vi, en = refusal.splitlines()
    assert "LOA_CAMPAIGN=ky-lua-2026" in vi
    assert "LOA_CAMPAIGN=ky-lua-2026" in en
    assert "--allow-ended" in en
    older = ended_refusal(load_pack("tam-duong-2024"), date(2026, 11, 29))
    assert older is not None
    assert "loa campaign roll tam-duong-2024 --year 2026" in older
    assert ended_refusal(load_pack("ky-lua-2026"), date(2026, 11, 29)) is None


@pytest.fixture
def ward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ward's working folder with its settings in the environment (no .env file)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'loa.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "loa_test_bot")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    return tmp_path


def test_run_refuses_an_ended_pack_with_how_to_start_this_years(
    ward: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:abc-DEF")
    monkeypatch.setenv("LOA_CAMPAIGN", "ky-lua-2025")
    with pytest.raises(SystemExit) as stopped:
        main(["run"], clock=at(date(2026, 11, 29)))
    message = str(stopped.value.code)
    assert len(message.splitlines()) == 2  # one line in each language
    assert "ky-lua-2025" in message
    assert "LOA_CAMPAIGN=ky-lua-2026" in message
    assert "123456:abc-DEF" not in message


def test_invite_refuses_an_ended_pack_unless_allowed(
    ward: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    after = at(date(2027, 1, 5))  # the default pack (2026) is over, no 2027 pack is shipped
    with pytest.raises(SystemExit) as stopped:
        main(["invite", "agency", "Trạm y tế phường"], clock=after)
    assert "loa campaign roll ky-lua-2026 --year 2027" in str(stopped.value.code)
    assert main(["invite", "agency", "Trạm y tế phường", "--allow-ended"], clock=after) == 0
    assert "https://t.me/loa_test_bot?start=" in capsys.readouterr().out
    assert main(["invite", "coordinator"], clock=at(date(2026, 11, 20))) == 0


def test_campaign_list_command_uses_the_clock(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "list"], clock=at(date(2026, 11, 20))) == 0
    out = capsys.readouterr().out
    assert "ky-lua-2026" in out
    assert "đang chạy / running" in out
