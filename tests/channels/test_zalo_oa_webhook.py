"""The OA webhook: signature, staleness, replays, malformed and unknown events, parsing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bot.channels.base import Inbound, InboundKind
from bot.channels.zalo_oa.events import parse_event
from bot.channels.zalo_oa.server import MAX_BODY, PATH, OaWebhookServer
from bot.channels.zalo_oa.signature import expected_mac, verify_signature
from bot.channels.zalo_oa.webhook import OaWebhook
from bot.clock import FakeClock
from fakes.http_server import HttpServer, Request, Response
from fakes.zalo_oa import FakeZaloOa


class Inbox:
    """Collects what the webhook hands on; can be told to fail."""

    def __init__(self) -> None:
        self.items: list[Inbound] = []
        self.fail = False

    async def __call__(self, inbound: Inbound) -> None:
        if self.fail:
            raise RuntimeError("database down")
        self.items.append(inbound)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def hook(fake_oa: FakeZaloOa, oa_clock: FakeClock, inbox: Inbox) -> AsyncIterator[OaWebhook]:
    """The webhook served on 127.0.0.1, its URL given to the fake OA."""
    webhook = OaWebhook(
        app_id=fake_oa.app_id, secret=fake_oa.oa_secret, handle=inbox, clock=oa_clock
    )

    async def route(request: Request) -> Response:
        status = await webhook.handle(request.body, request.headers.get("x-zevent-signature"))
        return Response(status, b"{}")

    server = HttpServer(route)
    await server.start()
    fake_oa.webhook_url = f"http://127.0.0.1:{server.port}/zalo-oa"
    yield webhook
    await server.stop()


def test_signature_formula() -> None:
    mac = expected_mac(app_id="1", body=b'{"a":1}', timestamp="17", secret="s")
    # sha256("1" + '{"a":1}' + "17" + "s"), computed independently
    assert mac == "60470ba059b881e27f02a0504676aa85076571648ba22d84e651e742fa1d6994"
    assert verify_signature("mac=" + mac, app_id="1", body=b'{"a":1}', timestamp="17", secret="s")
    assert verify_signature(mac.upper(), app_id="1", body=b'{"a":1}', timestamp="17", secret="s")
    assert not verify_signature(
        "mac=" + mac, app_id="1", body=b'{"a":2}', timestamp="17", secret="s"
    )
    assert not verify_signature(None, app_id="1", body=b"{}", timestamp="17", secret="s")
    assert not verify_signature(
        "mac=" + mac, app_id="1", body=b'{"a":1}', timestamp="17", secret=""
    )


async def test_text_follow_unfollow_and_sticker_arrive(
    fake_oa: FakeZaloOa, hook: OaWebhook, inbox: Inbox
) -> None:
    assert await fake_oa.follow("2468458835296117922") == 200
    assert await fake_oa.user_text("2468458835296117922", "/khauhieu") == 200
    assert await fake_oa.user_text("2468458835296117922", "Nhận tiếp tin ngày mai") == 200
    assert await fake_oa.user_sticker("2468458835296117922") == 200
    assert await fake_oa.unfollow("2468458835296117922") == 200
    kinds = [(i.kind, i.command, i.text, i.interaction) for i in inbox.items]
    assert kinds == [
        (InboundKind.COMMAND, "follow", "", True),
        (InboundKind.COMMAND, "khauhieu", "/khauhieu", True),
        (InboundKind.TEXT, None, "Nhận tiếp tin ngày mai", True),
        (InboundKind.OTHER, None, "", True),
        (InboundKind.COMMAND, "unfollow", "", False),
    ]
    assert {i.chat_id for i in inbox.items} == {"2468458835296117922"}
    assert {i.channel for i in inbox.items} == {"zalo_oa"}
    assert hook.counts["accepted"] == 5


async def test_wrong_or_missing_signature_is_refused(
    fake_oa: FakeZaloOa, hook: OaWebhook, inbox: Inbox
) -> None:
    event = fake_oa._message_event("user_send_text", "u1", {"text": "hi"})
    body = json.dumps(event).encode()
    assert await fake_oa.deliver_raw(body, None) == 401
    assert await fake_oa.deliver_raw(body, "mac=" + "0" * 64) == 401
    wrong_secret = expected_mac(
        app_id=fake_oa.app_id, body=body, timestamp=event["timestamp"], secret="app-secret"
    )
    assert await fake_oa.deliver_raw(body, "mac=" + wrong_secret) == 401
    tampered = body.replace(b"hi", b"ho")
    assert await fake_oa.deliver_raw(tampered, fake_oa.signature(body, event["timestamp"])) == 401
    assert inbox.items == []
    assert hook.counts["bad_signature"] == 4


async def test_a_replayed_event_is_handled_once(
    fake_oa: FakeZaloOa, hook: OaWebhook, inbox: Inbox
) -> None:
    event = fake_oa._message_event("user_send_text", "u1", {"text": "hi"})
    body = json.dumps(event).encode()
    signature = fake_oa.signature(body, event["timestamp"])
    assert await fake_oa.deliver_raw(body, signature) == 200
    assert await fake_oa.deliver_raw(body, signature) == 200
    assert len(inbox.items) == 1
    assert hook.counts["replayed"] == 1


async def test_an_event_an_hour_old_is_refused(
    fake_oa: FakeZaloOa, hook: OaWebhook, inbox: Inbox, oa_clock: FakeClock
) -> None:
    event = fake_oa._message_event("user_send_text", "u1", {"text": "hi"})
    old = str(int((oa_clock.now() - timedelta(hours=1)).timestamp() * 1000))
    assert await fake_oa.deliver(event, timestamp=old) == 400
    future = str(int((oa_clock.now() + timedelta(hours=1)).timestamp() * 1000))
    assert await fake_oa.deliver(event, timestamp=future) == 400
    recent = str(int((oa_clock.now() - timedelta(minutes=5, seconds=30)).timestamp() * 1000))
    assert await fake_oa.deliver(event, timestamp=recent) == 200  # Zalo's second re-delivery
    assert len(inbox.items) == 1
    assert hook.counts["stale"] == 2


async def test_malformed_json_and_unknown_events(
    fake_oa: FakeZaloOa, hook: OaWebhook, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    assert await fake_oa.deliver_raw(b'{"event_name": "user_send_te', "mac=x") == 400
    assert await fake_oa.deliver_raw(b"[1, 2]", "mac=x") == 400
    assert await fake_oa.deliver_raw(b"\xff\xfe", "mac=x") == 400
    event = fake_oa._message_event("user_reacted_with_a_hologram", "u1", {"text": "secret"})
    assert await fake_oa.deliver(event) == 200
    assert await fake_oa.deliver(fake_oa._message_event("user_seen_message", "u1", {})) == 200
    assert inbox.items == []
    assert hook.counts["malformed"] == 3
    assert hook.counts["unknown_event"] == 1
    assert "secret" not in caplog.text


async def test_a_failing_core_answers_500_and_the_redelivery_counts(
    fake_oa: FakeZaloOa, hook: OaWebhook, inbox: Inbox
) -> None:
    event = fake_oa._message_event("user_send_text", "u1", {"text": "hi"})
    body = json.dumps(event).encode()
    signature = fake_oa.signature(body, event["timestamp"])
    inbox.fail = True
    assert await fake_oa.deliver_raw(body, signature) == 500
    inbox.fail = False
    assert await fake_oa.deliver_raw(body, signature) == 200
    assert len(inbox.items) == 1


def test_parse_ignores_echoes_and_events_without_a_person(oa_clock: FakeClock) -> None:
    now = oa_clock.now()
    echo = {"event_name": "oa_send_text", "sender": {"id": "oa"}, "recipient": {"id": "u"}}
    assert parse_event(echo, now=now) is None
    assert parse_event({"event_name": "user_send_text", "message": {"text": "x"}}, now=now) is None
    numeric = {
        "event_name": "user_send_text",
        "sender": {"id": 2468458835296117922},
        "message": {"msg_id": "m1", "text": "xin chào"},
        "timestamp": "1",
    }
    parsed = parse_event(numeric, now=now)
    assert parsed is not None
    assert parsed.chat_id == "2468458835296117922"
    assert parsed.update_id == "m1"


async def test_the_tornado_server_serves_the_webhook(
    fake_oa: FakeZaloOa, oa_clock: FakeClock, inbox: Inbox
) -> None:
    webhook = OaWebhook(
        app_id=fake_oa.app_id, secret=fake_oa.oa_secret, handle=inbox, clock=oa_clock
    )
    server = OaWebhookServer(webhook)
    await server.start(listen="127.0.0.1", port=0)
    try:
        fake_oa.webhook_url = f"http://127.0.0.1:{server.port}{PATH}"
        assert await fake_oa.user_text("u1", "xin chào") == 200
        assert await fake_oa.deliver_raw(b"{}", "mac=0") == 401
        with pytest.raises(httpx.TransportError):  # tornado drops an oversized body unread
            await fake_oa.deliver_raw(b"x" * (MAX_BODY + 1), "mac=0")
    finally:
        await server.stop()
    assert [i.text for i in inbox.items] == ["xin chào"]
