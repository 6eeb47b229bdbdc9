"""A small typed client of the Zalo OA APIs over httpx: OAuth v4 tokens and consultation messages.

Written here rather than taken from an SDK: the official SDK is PHP (zaloplatform/zalo-php-sdk);
the Python packages on PyPI wrap the retired v2 message API or other products, and Loa needs three
calls whose logging it must control (tokens travel in headers and bodies, never in a log line).

    POST {oauth}/v4/oa/access_token   header secret_key; form app_id, grant_type, code +
                                      code_verifier | refresh_token → access_token,
                                      refresh_token, expires_in (a string of seconds)
    POST {api}/v3.0/oa/message/cs     header access_token; JSON {"recipient": {"user_id"},
                                      "message": {…}} → {"error": 0, "data": {…}}
    POST {api}/v3.0/oa/message/template   header access_token; JSON {"user_id", "template_id",
                                      "template_data": {…}} → {"error": 0, "data": {…}}: a ZBS
                                      template by user id. Not in a page Loa could read: the
                                      shape several integrations send (README, "What each
                                      message kind costs"); the answer assumed like /cs's
Errors come as HTTP 200 with a negative `error` (sources in the README, "Zalo Official Account").

Exceptions::

    OaError                 any failure; .code (Zalo's negative error, or the HTTP status, 0)
    ├── OaApiError          Zalo answered with error != 0
    ├── OaAuthError         the token endpoint refused (bad code, verifier, refresh token …)
    └── OaNetworkError      no usable answer (timeout, connection, non-JSON, 5xx)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

OAUTH_BASE_URL = "https://oauth.zaloapp.com"
API_BASE_URL = "https://openapi.zalo.me"
TOKEN_PATH = "/v4/oa/access_token"
CS_PATH = "/v3.0/oa/message/cs"
TEMPLATE_PATH = "/v3.0/oa/message/template"
PERMISSION_URL = "https://oauth.zaloapp.com/v4/oa/permission"


class OaError(Exception):
    """A Zalo OA call failed; `code` is Zalo's error number (negative) or an HTTP status."""

    def __init__(self, what: str, code: int, reason: str) -> None:
        # never the token, never the user id or text: the call, the code, a fixed reason
        super().__init__(f"zalo oa {what}: {code} {reason}")
        self.what = what
        self.code = code


class OaApiError(OaError):
    """The OpenAPI answered with a negative `error`."""


class OaAuthError(OaError):
    """The OAuth endpoint refused the code or the refresh token."""


class OaNetworkError(OaError):
    """No usable answer: timeout, connection failure, 5xx, or a body that is not JSON."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An OA access token and the single-use refresh token that comes with it."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime

    def __repr__(self) -> str:  # never print a token by accident
        return f"TokenPair(access_expires_at={self.access_expires_at.isoformat()})"


REFRESH_LIFETIME = timedelta(days=90)  # "3 months" from issue (README sources)


class OaClient:
    """The OA calls Loa makes; one pooled httpx client."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        oauth_base_url: str = OAUTH_BASE_URL,
        api_base_url: str = API_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._app_id = app_id
        self._app_secret = app_secret
        self._token_url = oauth_base_url.rstrip("/") + TOKEN_PATH
        self._cs_url = api_base_url.rstrip("/") + CS_PATH
        self._template_url = api_base_url.rstrip("/") + TEMPLATE_PATH
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), trust_env=False
        )

    async def token_from_code(self, code: str, code_verifier: str, *, now: datetime) -> TokenPair:
        """Exchange the permission code (10 minutes, single use) for the first pair."""
        form = {
            "code": code,
            "app_id": self._app_id,
            "grant_type": "authorization_code",
            "code_verifier": code_verifier,
        }
        return _pair(await self._token_call("code", form), now)

    async def token_from_refresh(self, refresh_token: str, *, now: datetime) -> TokenPair:
        """Spend the refresh token for a new pair (the old refresh and access tokens die)."""
        form = {
            "refresh_token": refresh_token,
            "app_id": self._app_id,
            "grant_type": "refresh_token",
        }
        return _pair(await self._token_call("refresh", form), now)

    async def send_cs(
        self, access_token: str, user_id: str, message: dict[str, Any]
    ) -> dict[str, Any]:
        """Send one consultation message; returns `data` ({message_id, user_id, quota …})."""
        body = {"recipient": {"user_id": user_id}, "message": message}
        return await self._api("send", self._cs_url, access_token, body)

    async def send_template(
        self, access_token: str, user_id: str, template_id: str, data: dict[str, str]
    ) -> dict[str, Any]:
        """Send one ZBS template notice by user id; returns `data` (msg_id … assumed)."""
        body = {"user_id": user_id, "template_id": template_id, "template_data": data}
        return await self._api("template", self._template_url, access_token, body)

    async def _api(
        self, what: str, url: str, access_token: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """POST a JSON body to the OpenAPI; `data` of an answer whose `error` is 0."""
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"access_token": access_token, "Content-Type": "application/json"}
        payload = await self._post(what, url, content=content, headers=headers)
        code = payload.get("error")
        if code != 0:
            raise OaApiError(what, code if isinstance(code, int) else -1, "refused")
        data = payload.get("data")
        return data if isinstance(data, dict) else {}

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _token_call(self, what: str, form: dict[str, str]) -> dict[str, Any]:
        # the app secret travels in the `secret_key` header, not the form [PHP OAuth2Client]
        payload = await self._post(
            what, self._token_url, data=form, headers={"secret_key": self._app_secret}
        )
        code = payload.get("error")
        if (isinstance(code, int) and code != 0) or "access_token" not in payload:
            raise OaAuthError(what, code if isinstance(code, int) else -1, "refused")
        return payload

    async def _post(self, what: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.post(url, **kwargs)
        # httpx errors carry the request (tokens in headers): never chain them
        except httpx.TimeoutException:
            raise OaNetworkError(what, 0, "timeout") from None
        except httpx.TransportError as exc:
            raise OaNetworkError(what, 0, type(exc).__name__) from None
        if response.status_code >= 500:
            raise OaNetworkError(what, response.status_code, "server error")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise OaNetworkError(what, response.status_code, "malformed answer")
        return payload


def _pair(payload: dict[str, Any], now: datetime) -> TokenPair:
    access, refresh = payload.get("access_token"), payload.get("refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        raise OaAuthError("token", -1, "incomplete answer")
    try:
        # documented as a string, shown as a number: accept both [README sources]
        seconds = int(str(payload.get("expires_in", "90000")).strip())
    except ValueError:
        seconds = 90_000
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=seconds),
        refresh_expires_at=now + REFRESH_LIFETIME,
    )
