"""Settings from the environment or `.env`; built once in main and passed down, never a global."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = "sqlite+aiosqlite:///./loa.db"
PLACEHOLDER_TOKENS = {"", "changeme", "your-token-here", "123456:CHANGE-ME"}
PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://", "socks4://")
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class Settings(BaseSettings):
    """Every setting Loa reads; `.env.example` lists the same names (a test keeps them in step)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr = Field(default=SecretStr(""))
    telegram_bot_username: str = Field(default="", pattern=r"^@?[A-Za-z0-9_]{0,64}$")
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_proxy_url: str | None = None
    zalo_bot_token: SecretStr = Field(default=SecretStr(""))
    zalo_api_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    zalo_webhook_url: str | None = None
    zalo_webhook_secret: SecretStr | None = None
    zalo_monthly_quota: int = Field(default=3000, ge=0)
    zalo_quota_reserve: int = Field(default=300, ge=0)
    zalo_user_cap: int = Field(default=50, ge=0)
    loa_web_listen: str = "127.0.0.1"
    loa_web_port: int = Field(default=8080, ge=0, le=65535)
    loa_public_url: str | None = None
    zalo_oa_id: str = Field(default="", pattern=r"^[0-9]{0,32}$")
    zalo_oa_app_id: str = Field(default="", pattern=r"^[0-9]{0,32}$")
    zalo_oa_app_secret: SecretStr = Field(default=SecretStr(""))
    zalo_oa_webhook_secret: SecretStr = Field(default=SecretStr(""))
    zalo_oa_token_key: SecretStr = Field(default=SecretStr(""))
    zalo_oa_redirect_uri: str = ""
    zalo_oa_buttons: bool = True
    zalo_oa_rate_per_minute: int = Field(default=100, ge=1, le=4000)
    # days a broadcast waits for an OA resident outside the 7-day window to write again
    zalo_oa_hold_days: int = Field(default=7, ge=1, le=30)
    # a ZBS template notice (tag 2) to residents with held broadcasts; empty: off (README)
    zalo_oa_template_id: str = Field(default="", pattern=r"^[0-9]{0,32}$")
    zalo_oa_template_daily_quota: int = Field(default=500, ge=0)  # the ward's cap a VN day
    zalo_oa_template_ward_field: str = "ward"  # the template's field for the ward's name
    zalo_oa_template_ward: str = ""  # the ward's name in the notice (empty: the pack's locality)
    zalo_oa_template_date_field: str = ""  # a field for the day (dd/mm/yyyy); empty: none
    zalo_oa_oauth_base_url: str = "https://oauth.zaloapp.com"
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    database_url: str = DEFAULT_DB
    loa_campaign: str = "ky-lua-2026"
    loa_log_level: str = "INFO"
    loa_signing_key: SecretStr | None = None
    loa_files_dir: Path = Path("./loa-files")
    # the key of the short hashes that stand for chat ids in logs; unset: derived from the tokens
    loa_log_key: SecretStr = Field(default=SecretStr(""))

    @field_validator(
        "telegram_api_base_url",
        "zalo_api_base_url",
        "zalo_oa_oauth_base_url",
        "zalo_oa_api_base_url",
    )
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("telegram_webhook_url", "zalo_webhook_url", "loa_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith("https://") and not value.startswith("http://127.0.0.1"):
            raise ValueError("must be an https:// URL")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token (core.telegram.org/bots/api#setwebhook)
        return _secret(value, minimum=1)

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # the Zalo Bot Platform's setWebhook asks for 8 to 256 characters
        return _secret(value, minimum=8)

    @field_validator("telegram_proxy_url")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(PROXY_SCHEMES) or "://" not in value or value.endswith("://"):
            raise ValueError("must be an http://, https:// or socks5:// proxy URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("loa_log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    def webhook_secret(self, channel: str) -> str | None:
        """The secret a channel's webhook checks (None when the channel polls)."""
        value = self.telegram_webhook_secret if channel == "telegram" else self.zalo_webhook_secret
        return value.get_secret_value() if value is not None else None

    def telegram_token(self) -> str | None:
        """The Telegram token, or None when it is not set; refuses a malformed one."""
        return _token("TELEGRAM_BOT_TOKEN", self.telegram_bot_token)

    def zalo_token(self) -> str | None:
        """The Zalo token, or None when it is not set; refuses a malformed one."""
        return _token("ZALO_BOT_TOKEN", self.zalo_bot_token)

    def configured_channels(self) -> tuple[str, ...]:
        """The channels whose token is set (malformed tokens count as set)."""
        values = {"telegram": self.telegram_bot_token, "zalo": self.zalo_bot_token}
        return tuple(
            name
            for name, value in values.items()
            if value.get_secret_value().strip() not in PLACEHOLDER_TOKENS
        )

    def zalo_oa(self) -> ZaloOaSettings | None:
        """The OA channel's settings, or None when ZALO_OA_APP_ID is empty (ZALO_OA_ID alone only
        prints the OA's QR code on posters); refuses a partial set."""
        if not self.zalo_oa_app_id:
            return None
        values = {
            "ZALO_OA_ID": self.zalo_oa_id,
            "ZALO_OA_APP_ID": self.zalo_oa_app_id,
            "ZALO_OA_APP_SECRET": self.zalo_oa_app_secret.get_secret_value(),
            "ZALO_OA_WEBHOOK_SECRET": self.zalo_oa_webhook_secret.get_secret_value(),
            "ZALO_OA_TOKEN_KEY": self.zalo_oa_token_key.get_secret_value(),
        }
        for name, value in values.items():
            if not value.strip():
                raise SettingsError(f"{name}: missing (needed when ZALO_OA_APP_ID is set)")
        key = values["ZALO_OA_TOKEN_KEY"].strip()
        try:
            padded = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            padded = b""
        if len(padded) != 32:
            raise SettingsError(
                "ZALO_OA_TOKEN_KEY: malformed (a Fernet key: 32 url-safe base64 bytes; "
                "`loa zalo-oa key` prints a new one)"
            )
        return ZaloOaSettings(
            oa_id=self.zalo_oa_id,
            app_id=self.zalo_oa_app_id,
            app_secret=values["ZALO_OA_APP_SECRET"].strip(),
            webhook_secret=values["ZALO_OA_WEBHOOK_SECRET"].strip(),
            token_key=key,
            redirect_uri=self.zalo_oa_redirect_uri,
            buttons=self.zalo_oa_buttons,
            rate_per_minute=self.zalo_oa_rate_per_minute,
            oauth_base_url=self.zalo_oa_oauth_base_url,
            api_base_url=self.zalo_oa_api_base_url,
            template_id=self.zalo_oa_template_id,
            template_daily_quota=self.zalo_oa_template_daily_quota,
            template_ward_field=self.zalo_oa_template_ward_field.strip(),
            template_ward=self.zalo_oa_template_ward.strip(),
            template_date_field=self.zalo_oa_template_date_field.strip(),
        )

    def bot_tokens(self) -> tuple[str | None, str | None]:
        """(Telegram, Zalo) tokens; at least one must be set to run the bot."""
        tokens = self.telegram_token(), self.zalo_token()
        if not any(tokens) and not self.zalo_oa_app_id:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN: missing (set it in the environment or .env; "
                "or ZALO_BOT_TOKEN for Zalo, or ZALO_OA_APP_ID for a Zalo Official Account)"
            )
        return tokens

    def signing_key(self) -> bytes:
        """The key of signed file links and of the audit log's chat hashes.

        LOA_SIGNING_KEY when set; otherwise derived from the bot tokens (so it survives a restart
        and differs per deployment); a fixed development key when neither is set (offline use).
        """
        if self.loa_signing_key is not None and self.loa_signing_key.get_secret_value():
            seed = self.loa_signing_key.get_secret_value()
        else:
            seed = "|".join(
                value.get_secret_value() for value in (self.telegram_bot_token, self.zalo_bot_token)
            )
        return hashlib.sha256(b"loa-signing-key\0" + seed.encode("utf-8")).digest()


def _secret(value: SecretStr | None, *, minimum: int) -> SecretStr | None:
    if value is None or value.get_secret_value() == "":
        return None
    secret = value.get_secret_value()
    if not minimum <= len(secret) <= 256 or not set(secret) <= _SECRET_CHARS:
        raise ValueError(f"must be {minimum}-256 characters of A-Z, a-z, 0-9, _ and -")
    return value


def _token(name: str, value: SecretStr) -> str | None:
    token = value.get_secret_value().strip()
    if token in PLACEHOLDER_TOKENS:
        return None
    if ":" not in token:
        raise SettingsError(f"{name}: malformed (expected <bot id>:<secret>)")
    return token


@dataclass(frozen=True, slots=True)
class ZaloOaSettings:
    """What the Zalo OA channel needs, checked; secrets as plain strings (never logged)."""

    oa_id: str
    app_id: str
    app_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    token_key: str = field(repr=False)
    redirect_uri: str
    buttons: bool
    rate_per_minute: int
    oauth_base_url: str
    api_base_url: str
    template_id: str = ""  # empty: no template notices
    template_daily_quota: int = 500
    template_ward_field: str = "ward"
    template_ward: str = ""
    template_date_field: str = ""


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Build Settings, turning pydantic's report into one clear line naming the setting."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"{name}: {first['msg']}") from None
