"""Settings: .env.example lists exactly the settings; bad values stop start-up in one line."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.logs import RedactSecrets

ROOT = Path(__file__).resolve().parents[2]


def _example_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split("=", 1)[0])
    return names


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert _example_names() == fields


def test_env_example_values_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            monkeypatch.setenv(name, value)
    settings = load_settings(None)
    assert settings.telegram_webhook_url is None
    assert settings.database_url.startswith("sqlite+aiosqlite://")


def test_defaults_use_sqlite_and_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = load_settings(None)
    assert settings.database_url == "sqlite+aiosqlite:///./loa.db"
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.telegram_webhook_url is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://x", "DATABASE_URL:"),
        ("TELEGRAM_API_BASE_URL", "ftp://example", "TELEGRAM_API_BASE_URL:"),
        ("TELEGRAM_WEBHOOK_URL", "http://example.org/hook", "TELEGRAM_WEBHOOK_URL:"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces!", "TELEGRAM_WEBHOOK_SECRET:"),
        ("LOA_WEB_PORT", "99999", "LOA_WEB_PORT:"),
        ("TELEGRAM_PROXY_URL", "ftp://proxy:21", "TELEGRAM_PROXY_URL:"),
        ("ZALO_WEBHOOK_SECRET", "short", "ZALO_WEBHOOK_SECRET:"),
        ("ZALO_WEBHOOK_URL", "http://example.org/zalo", "ZALO_WEBHOOK_URL:"),
        ("LOA_LOG_LEVEL", "LOUD", "LOA_LOG_LEVEL:"),
    ],
)
def test_a_malformed_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    message = str(err.value)
    assert message.startswith(expected)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("token", "expected"), [("", "missing"), ("changeme", "missing"), ("abc", "malformed")]
)
def test_token_is_required_for_running(
    monkeypatch: pytest.MonkeyPatch, token: str, expected: str
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    with pytest.raises(SettingsError, match=f"TELEGRAM_BOT_TOKEN: {expected}"):
        load_settings(None).bot_tokens()


def test_token_never_shows_in_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-VALUE-xyz")
    settings = load_settings(None)
    assert "SECRET-VALUE" not in repr(settings)
    assert settings.telegram_token() == "123456:SECRET-VALUE-xyz"


def test_log_filter_redacts_tokens() -> None:
    record = logging.LogRecord(
        "bot.x", logging.INFO, __file__, 1, "POST %s", ("https://x/bot123456:SECRET/send",), None
    )
    assert RedactSecrets(["123456:SECRET"]).filter(record)
    assert record.getMessage() == "POST https://x/bot<redacted>/send"


def test_loa_run_without_token_stops_with_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "TELEGRAM_BOT_TOKEN": "",
        "HOME": str(tmp_path),
        "LOA_WEB_PORT": "0",  # any free port: 8080 may be taken here
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "loa: setting error: TELEGRAM_BOT_TOKEN: missing (set it in the environment or .env; "
        "or ZALO_BOT_TOKEN for Zalo, or ZALO_OA_APP_ID for a Zalo Official Account)"
    ]


def test_zalo_oa_settings_are_all_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.channels.zalo_oa.tokens import new_key

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    assert load_settings(None).zalo_oa() is None
    monkeypatch.setenv("ZALO_OA_ID", "607812198688816074")
    assert load_settings(None).zalo_oa() is None  # the OA id alone: a QR code on posters only
    monkeypatch.setenv("ZALO_OA_APP_ID", "1234567890")
    with pytest.raises(SettingsError, match="ZALO_OA_APP_SECRET: missing"):
        load_settings(None).zalo_oa()
    monkeypatch.setenv("ZALO_OA_APP_SECRET", "app-secret")
    monkeypatch.setenv("ZALO_OA_WEBHOOK_SECRET", "oa-secret")
    monkeypatch.setenv("ZALO_OA_TOKEN_KEY", "not-a-key")
    with pytest.raises(SettingsError, match="ZALO_OA_TOKEN_KEY: malformed"):
        load_settings(None).zalo_oa()
    monkeypatch.setenv("ZALO_OA_TOKEN_KEY", new_key())
    oa = load_settings(None).zalo_oa()
    assert oa is not None
    assert oa.app_id == "1234567890"
    assert "oa-secret" not in repr(oa)
    assert "app-secret" not in repr(oa)
    assert load_settings(None).bot_tokens() == (None, None)  # the OA alone is enough to run
