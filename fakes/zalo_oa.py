"""A fake Zalo Official Account platform on 127.0.0.1: OAuth v4, the OA message API, webhooks.

Wire formats follow the sources collected for Loa's OA channel (README, "Zalo Official Account"):
  [PHP]   zaloplatform/zalo-php-sdk (official): OAuth2Client, PKCEUtil, ZaloEndPoint, MessageBuilder
  [VERIF] a 2026-09 verification note quoting docs.zaloplatforms.com and oa.zalo.me pages
  [CW]    chatwoot/chatwoot app/services/zalo_oa/client.rb, app/jobs/webhooks/zalo_events_job.rb
  [ERRTAB] "Bảng mã lỗi Official Account API"; [HND] hoangnd25/monorepo zalo-platform-integration.md
What the sources leave open is marked UNVERIFIED here and modelled the simplest plausible way.

Test-side controls: `authorize` (an OA admin grants the app → a code), `expire_access_tokens`,
`fail_next`, `followers`, `sent`, and webhook delivery (`follow`, `unfollow`, `user_text`,
`user_sticker`, `deliver_raw`) signed as Zalo signs them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Self

import httpx

from bot.clock import Clock, SystemClock
from fakes.calls import CallLog, SentCall
from fakes.http_server import HttpServer, Request, Response, json_response

TOKEN_PATH = "/v4/oa/access_token"  # [PHP OAuth2Client] [VERIF §D]
CS_PATH = "/v3.0/oa/message/cs"  # [PHP ZaloEndPoint] [VERIF §E]
# ZBS template by Zalo user id. Zalo's own reference (developers.zalo.me) could not be read; the
# request is the one several unrelated integrations send (stored copies found with find_string
# "/v3.0/oa/message/template": a PHP airline-ticket integration `send_template_message_by_uid`,
# a TypeScript CRM `sendZaloZbs`, a NestJS `ZaloService.sendZbsTemplate`, a Python notifier, a
# C# allowlist): POST, header `access_token`, JSON {"user_id", "template_id", "template_data"}
# (the PHP one adds "tracking_id"). The answer {"error": 0, "message": "Success", "data":
# {"msg_id", "sent_time", "quota": {…}}} follows the documented ZNS phone endpoint's answer
# as the redai SDK gives it [REDAI]; the UID answer is UNVERIFIED. -249 «Không hỗ trợ UID» and
# -109 «ID Template không hợp lệ» come from the PHP integration's ZBS error table; the error a
# UID send gets for a non-follower or for the OA's daily template quota is UNVERIFIED (-213 and
# -144 «Vượt định mức ngày» here).
TEMPLATE_PATH = "/v3.0/oa/message/template"
ACCESS_TTL_S = 90_000  # "expires_in": "90000", 25 h, sent as a string [VERIF §D] [HND Step 4]
REFRESH_TTL = timedelta(days=90)  # "3 months", single use [VERIF §D] [HND]
CODE_TTL = timedelta(minutes=10)  # authorization code: 10 minutes, single use [VERIF §D]
WINDOW = timedelta(days=7)  # consultation messages only within 7 days [VERIF §A] [ERRTAB -230]
FREE_WINDOW = timedelta(hours=48)  # free within 48 h of the last interaction [VERIF §A]
FREE_PER_WINDOW = 8  # at most 8 free messages per 48 h, reset by the user's message [VERIF §A]
MAX_TEXT = 2000  # "2.000 ký tự" [VERIF §E]; unit (chars / UTF-16) UNVERIFIED: chars here
MAX_BUTTONS = 5  # [PHP MessageBuilder MAX_ELEMENT = 5] (its message says 4: sources disagree)
BUTTON_TYPES = frozenset(  # [PHP buildAction*] [REDAI BUTTON_TYPES_GUIDE]
    {"oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.phone", "oa.open.sms"}
)
# Errors: HTTP 200 and a negative `error` [ERRTAB]; messages verbatim from the table.
ERRORS = {
    -32: "Your application reached limit call api",
    -200: "Send message failed",
    -201: "{field} is invalid!",
    -204: "Official Account is disable",
    -210: "Parameter exceeds allowable limit",
    -211: "Out of quota",
    -213: "User has not followed OA",
    -216: "Access token is invalid",
    -217: "User has blocked invitation from OA",
    -218: "Out of quota receive",
    -220: "access_token is expired or removed",
    -230: "User has not interacted with the OA in the past 7 days",
    -232: "User has not interacted with the OA, or the last interaction has expired",
    -233: "message type is invalid or not support",
    -244: "User has restricted this message type from your OA",
    -109: "Template id is invalid",  # ZBS table (PHP integration above)
    -144: "OA exceeded its daily quota",  # ZBS table; that UID sends get it: UNVERIFIED
    -249: "Template does not support sending by user id",  # ZBS table: «Không hỗ trợ UID»
}
# OAuth errors: clients read non-zero `error` and `message` [HND] [CW request_token]; the codes
# themselves are UNVERIFIED ("-140xx suspected" [VERIF §D]) — these are placeholders.
OAUTH_BAD_SECRET = -14002
OAUTH_BAD_CODE = -14003
OAUTH_BAD_VERIFIER = -14004
OAUTH_BAD_REFRESH = -14014


@dataclass
class Follower:
    """One Zalo user as the OA sees them."""

    user_id: str
    following: bool = True
    last_interaction: datetime | None = None
    free_used: int = 0  # free messages used since the last interaction


@dataclass
class _Pair:
    access_token: str
    refresh_token: str
    access_expires: datetime
    refresh_expires: datetime


def _challenge(verifier: str) -> str:
    # S256: base64url(sha256(ascii verifier)) without padding [PHP PKCEUtil] [VERIF §D]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _error(code: int, **fields: str) -> Response:
    return json_response(
        200, {"error": code, "message": ERRORS.get(code, "Error").format(**fields)}
    )


class FakeZaloOa:
    """The OA platform for one app and one OA."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        app_id: str = "1234567890",
        app_secret: str = "fake-app-secret",
        oa_id: str = "607812198688816074",
        oa_secret: str = "fake-oa-secret",
        quota: int | None = None,
        rate_per_minute: int = 4000,
        port: int = 0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.app_id, self.app_secret = app_id, app_secret
        self.oa_id, self.oa_secret = oa_id, oa_secret
        self.quota = quota  # paid messages left (None = unlimited), beyond the free frame
        self.rate_per_minute = rate_per_minute  # 4,000/min per app [VERIF §D]; packages less
        self.followers: dict[str, Follower] = {}
        self.sent = CallLog()
        self.webhook_url: str | None = None
        self.refreshes = 0
        self.billed = 0  # messages outside the free frame (55 VND each [VERIF §A])
        self.errors_served: dict[int, int] = {}
        # templates: the approved ids, a switch that refuses the template with an error
        # (-249 …), the OA's daily template quota (None: unlimited), what was accepted
        self.template_ids: set[str] = {"480001"}
        self.template_error: int | None = None
        self.template_daily_quota: int | None = None
        self.template_sent = CallLog()
        self.template_errors: dict[int, int] = {}
        self._codes: dict[str, tuple[str, datetime]] = {}  # code → (challenge, expires)
        self._pairs: dict[str, _Pair] = {}  # refresh token → pair (live pairs only)
        self._access: dict[str, datetime] = {}  # live access token → expiry
        self._calls: deque[datetime] = deque()
        self._failures: list[list[int]] = []  # [error, count]
        self._ids = itertools.count(0x5A1000)
        self._http = HttpServer(self._handle, port=port)
        self._client: httpx.AsyncClient | None = None
        self._deliveries = asyncio.Semaphore(8)

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Bind 127.0.0.1 and serve."""
        await self._http.start()
        # Zalo's delivery concurrency is unpublished: 8 deliveries at a time here. Waiters queue
        # on a semaphore, not in httpx's pool (whose queue slows down sharply when long).
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0), limits=httpx.Limits(max_connections=8), trust_env=False
        )

    async def stop(self) -> None:
        """Stop serving."""
        await self._http.stop()
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL serving both the OAuth and the OpenAPI paths."""
        return f"http://127.0.0.1:{self._http.port}"

    # ------------------------------------------------------------------ test-side controls

    def authorize(self, code_challenge: str) -> str:
        """The OA admin grants the app on the permission page: the code of the redirect."""
        code = secrets.token_urlsafe(24)
        self._codes[code] = (code_challenge, self.clock.now() + CODE_TTL)
        return code

    def expire_access_tokens(self) -> None:
        """Every live access token reaches its expiry now (-220 from here on)."""
        now = self.clock.now()
        for token in self._access:
            self._access[token] = now

    def fail_next(self, error: int, count: int = 1) -> None:
        """The next `count` message sends answer `error` (HTTP 200)."""
        self._failures.append([error, count])

    def follower(self, user_id: str) -> Follower:
        """The follower record of `user_id` (created, not following, when unknown)."""
        return self.followers.setdefault(user_id, Follower(user_id, following=False))

    def interacted(self, user_id: str, when: datetime | None = None) -> None:
        """The user interacted with the OA at `when` (now by default)."""
        follower = self.follower(user_id)
        follower.last_interaction = when or self.clock.now()
        follower.free_used = 0

    def sent_to(self, user_id: str) -> list[SentCall]:
        """Accepted messages to one user."""
        return self.sent.select(user_id)

    # ------------------------------------------------------------------ webhooks (Zalo → bot)

    async def follow(self, user_id: str) -> int:
        """The user follows the OA; Zalo POSTs `follow` [VERIF §E] (no sender/recipient)."""
        follower = self.follower(user_id)
        follower.following = True
        self.interacted(user_id)  # whether a follow counts as interaction: UNVERIFIED
        return await self.deliver(self._follow_event("follow", user_id))

    async def unfollow(self, user_id: str) -> int:
        """The user stops following; Zalo POSTs `unfollow` [VERIF §E]."""
        self.follower(user_id).following = False
        return await self.deliver(self._follow_event("unfollow", user_id))

    async def user_text(self, user_id: str, text: str) -> int:
        """The user writes (or taps an oa.query.show button: its payload arrives as text)."""
        self.interacted(user_id)
        return await self.deliver(self._message_event("user_send_text", user_id, {"text": text}))

    async def user_sticker(self, user_id: str) -> int:
        """A sticker [CW treats it as an image: attachments[0].payload.url]; payload UNVERIFIED."""
        self.interacted(user_id)
        attachment = {"type": "sticker", "payload": {"id": "s1", "url": "https://zdn.vn/s.png"}}
        message = {"attachments": [attachment]}
        return await self.deliver(self._message_event("user_send_sticker", user_id, message))

    async def deliver(self, event: dict[str, Any], *, timestamp: str | None = None) -> int:
        """Sign and POST one event to the bot's webhook; the HTTP status the bot answered."""
        if timestamp is not None:
            event["timestamp"] = timestamp
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        return await self.deliver_raw(body, self.signature(body, str(event["timestamp"])))

    def signature(self, body: bytes, timestamp: str) -> str:
        """`mac=` + sha256(app_id + raw body + timestamp + OA secret key), plain SHA-256, hex
        [CW zalo_events_job.rb validate_signature] [HAINH]; which secret: sources disagree."""
        raw = self.app_id.encode() + body + timestamp.encode() + self.oa_secret.encode()
        return "mac=" + hashlib.sha256(raw).hexdigest()

    async def deliver_raw(self, body: bytes, signature: str | None) -> int:
        """POST exactly these bytes with this signature header (None: no header)."""
        if self.webhook_url is None or self._client is None:
            raise RuntimeError("no webhook URL set (or the fake is not started)")
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-ZEvent-Signature"] = signature
        async with self._deliveries:
            response = await self._client.post(self.webhook_url, content=body, headers=headers)
        return response.status_code

    def _stamp(self) -> str:
        # epoch milliseconds as a 13-digit string [VERIF §E] [REDAI BaseWebhookEvent]
        return str(int(self.clock.now().timestamp() * 1000))

    def _follow_event(self, name: str, user_id: str) -> dict[str, Any]:
        return {
            "oa_id": self.oa_id,
            "follower": {"id": user_id},
            "user_id_by_app": "9" + user_id[1:],
            "event_name": name,
            "source": "oa_profile",  # values UNVERIFIED
            "app_id": self.app_id,
            "timestamp": self._stamp(),
        }

    def _message_event(self, name: str, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "user_id_by_app": "9" + user_id[1:],
            "sender": {"id": user_id},
            "recipient": {"id": self.oa_id},
            "event_name": name,
            "message": {"msg_id": f"{next(self._ids):x}{secrets.token_hex(6)}", **message},
            "timestamp": self._stamp(),
        }

    # ------------------------------------------------------------------ HTTP routes

    def _handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == TOKEN_PATH:
            return self._token(request)
        if request.method == "POST" and request.path == CS_PATH:
            response = self._send(request)
            payload = json.loads(response.body)
            if payload["error"] != 0:
                self.errors_served[payload["error"]] = (
                    self.errors_served.get(payload["error"], 0) + 1
                )
            return response
        if request.method == "POST" and request.path == TEMPLATE_PATH:
            response = self._template(request)
            code = json.loads(response.body)["error"]
            if code != 0:
                self.template_errors[code] = self.template_errors.get(code, 0) + 1
            return response
        return json_response(404, {"error": -404, "message": "Not found"})

    def _template(self, request: Request) -> Response:
        """A ZBS template by user id (shape and sources: TEMPLATE_PATH above)."""
        now = self.clock.now()
        token = request.headers.get("access_token", "")
        if token not in self._access:
            return _error(-216)
        if self._access[token] <= now:
            return _error(-220)
        try:
            body = json.loads(request.body)
            user_id, template_id = str(body["user_id"]), str(body["template_id"])
            data = body["template_data"]
        except (ValueError, KeyError, TypeError):
            return _error(-201, field="body")
        if self.template_error is not None:
            return _error(self.template_error)
        if template_id not in self.template_ids or not isinstance(data, dict):
            return _error(-109)
        follower = self.followers.get(user_id)
        if follower is None or not follower.following:
            return _error(-213)
        today = [c for c in self.template_sent.calls if _same_vn_day(c.time, now)]
        if self.template_daily_quota is not None and len(today) >= self.template_daily_quota:
            return _error(-144)
        msg_id = f"{next(self._ids):x}{secrets.token_hex(8)}"
        self.template_sent.add(
            SentCall(
                method="template",
                token="",
                chat_id=user_id,
                text=json.dumps(data, ensure_ascii=False, sort_keys=True),
                params=body,
                time=now.timestamp(),
                message_id=msg_id,
            )
        )
        data_out = {"msg_id": msg_id, "sent_time": str(int(now.timestamp() * 1000))}
        return json_response(200, {"error": 0, "message": "Success", "data": data_out})

    def _token(self, request: Request) -> Response:
        """Code exchange and refresh; form body, app secret in the `secret_key` header."""
        try:
            form = request.params()
        except ValueError:
            return json_response(200, {"error": OAUTH_BAD_CODE, "message": "Invalid request"})
        if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != (
            self.app_id
        ):
            return json_response(200, {"error": OAUTH_BAD_SECRET, "message": "Invalid app"})
        now = self.clock.now()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            entry = self._codes.pop(str(form.get("code", "")), None)  # single use
            if entry is None or entry[1] < now:
                return json_response(200, {"error": OAUTH_BAD_CODE, "message": "Invalid code"})
            if _challenge(str(form.get("code_verifier", ""))) != entry[0]:
                return json_response(
                    200, {"error": OAUTH_BAD_VERIFIER, "message": "Invalid code verifier"}
                )
        elif grant == "refresh_token":
            old = self._pairs.pop(str(form.get("refresh_token", "")), None)
            if old is None or old.refresh_expires < now:
                return json_response(
                    200, {"error": OAUTH_BAD_REFRESH, "message": "Invalid refresh token"}
                )
            # the old refresh token is spent and the access token it replaced dies with it
            self._access.pop(old.access_token, None)
            self.refreshes += 1
        else:
            return json_response(200, {"error": OAUTH_BAD_CODE, "message": "Invalid grant_type"})
        pair = _Pair(
            access_token=secrets.token_urlsafe(32),
            refresh_token=secrets.token_urlsafe(32),
            access_expires=now + timedelta(seconds=ACCESS_TTL_S),
            refresh_expires=now + REFRESH_TTL,
        )
        self._pairs[pair.refresh_token] = pair
        self._access[pair.access_token] = pair.access_expires
        return json_response(
            200,
            {
                "access_token": pair.access_token,
                "refresh_token": pair.refresh_token,
                "expires_in": str(ACCESS_TTL_S),
            },
        )

    def _send(self, request: Request) -> Response:
        """A consultation message, checked in the order a real OA plausibly checks."""
        now = self.clock.now()
        token = request.headers.get("access_token", "")
        if token not in self._access:
            return _error(-216)
        if self._access[token] <= now:
            return _error(-220)
        if self._failures:
            failure = self._failures[0]
            failure[1] -= 1
            if failure[1] <= 0:
                self._failures.pop(0)
            return _error(failure[0], field="message")
        while self._calls and now - self._calls[0] >= timedelta(minutes=1):
            self._calls.popleft()
        if len(self._calls) >= self.rate_per_minute:
            return _error(-32)
        self._calls.append(now)
        try:
            body = json.loads(request.body)
            user_id = str(body["recipient"]["user_id"])
            message = body["message"]
        except (ValueError, KeyError, TypeError):
            return _error(-201, field="recipient")
        problem = _check_message(message)
        if problem is not None:
            return problem
        return self._deliver_to(user_id, message, body, now)

    def _deliver_to(
        self, user_id: str, message: dict[str, Any], body: dict[str, Any], now: datetime
    ) -> Response:
        follower = self.followers.get(user_id)
        if follower is None or not follower.following:
            return _error(-213)
        if follower.last_interaction is None:
            return _error(-232)
        age = now - follower.last_interaction
        if age > WINDOW:
            return _error(-230)
        free = age <= FREE_WINDOW and follower.free_used < FREE_PER_WINDOW
        if free:
            follower.free_used += 1
            quota_type = "reply"
        else:
            if self.quota is not None and self.quota <= 0:
                return _error(-211)
            if self.quota is not None:
                self.quota -= 1
            self.billed += 1
            quota_type = "purchase_quota"
        message_id = f"{next(self._ids):x}{secrets.token_hex(8)}"
        self.sent.add(
            SentCall(
                method="cs",
                token="",
                chat_id=user_id,
                text=_text_of(message),
                params=body,
                time=now.timestamp(),
                message_id=message_id,
            )
        )
        quota = {"quota_type": quota_type, "remain": self.quota if self.quota is not None else -1}
        data = {
            "message_id": message_id,
            "user_id": user_id,
            "sent_time": str(int(now.timestamp() * 1000)),
            "quota": quota,  # fields as seen in [ETEL] (secondary)
        }
        return json_response(200, {"error": 0, "message": "Success", "data": data})


def _same_vn_day(stamp: float, now: datetime) -> bool:
    vn = timezone(timedelta(hours=7))  # Vietnam: UTC+7, no daylight saving
    return datetime.fromtimestamp(stamp, vn).date() == now.astimezone(vn).date()


def _text_of(message: dict[str, Any]) -> str:
    if isinstance(message.get("text"), str):
        return str(message["text"])
    payload = message.get("attachment", {}).get("payload", {})
    return str(payload.get("text", ""))


def _check_message(message: object) -> Response | None:
    """-201 for a malformed message, -210 for text over the limit, -233 for an unknown kind."""
    if not isinstance(message, dict):
        return _error(-201, field="message")
    if "text" in message and "attachment" not in message:
        text = message["text"]
        if not isinstance(text, str) or not text:
            return _error(-201, field="text")
        return _error(-210) if len(text) > MAX_TEXT else None
    attachment = message.get("attachment")
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        return _error(-233)
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        return _error(-201, field="payload")
    # `button` on v3 cs: two clients use it [HND] [REDAI]; official text UNVERIFIED
    if payload.get("template_type") != "button":
        return _error(-233)
    text, buttons = payload.get("text"), payload.get("buttons")
    if not isinstance(text, str) or not text or not isinstance(buttons, list):
        return _error(-201, field="payload")
    if len(text) > MAX_TEXT or not 1 <= len(buttons) <= MAX_BUTTONS:
        return _error(-210)
    for button in buttons:
        if (
            not isinstance(button, dict)
            or button.get("type") not in BUTTON_TYPES
            or not 1 <= len(str(button.get("title", ""))) <= 100  # title ≤ 100 [REDAI]
            or len(str(button.get("payload", ""))) > 1000  # payload ≤ 1000 [REDAI]
        ):
            return _error(-201, field="buttons")
    return None
