"""The OA sender against the fake OA: buttons or numbered text, splitting, and Zalo's error codes
mapped to retry, skip-and-count or stop — one test each."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.base import Choice, Outbound, SendStatus
from bot.channels.zalo_oa.client import OaClient
from bot.channels.zalo_oa.sender import OaSender
from bot.channels.zalo_oa.tokens import TokenManager
from fakes.zalo_oa import FakeZaloOa

USER = "2468458835296117922"


def _msg(text: str, *labels: str, user: str = USER) -> Outbound:
    choices = tuple(Choice(label=label, data=f"d:{n}") for n, label in enumerate(labels))
    return Outbound(channel="zalo_oa", chat_id=user, text=text, choices=choices)


@pytest.fixture
def sender(oa_client: OaClient, oa_tokens: TokenManager, fake_oa: FakeZaloOa) -> OaSender:
    fake_oa.follower(USER).following = True
    fake_oa.interacted(USER)
    return OaSender(oa_client, oa_tokens)


def test_render_buttons_numbered_and_split(sender: OaSender) -> None:
    parts = sender.render(_msg("Chọn ngôn ngữ", "Tiếng Việt", "English"))
    assert len(parts) == 1
    payload = parts[0]["attachment"]["payload"]
    assert payload["template_type"] == "button"
    assert payload["text"] == "Chọn ngôn ngữ"
    assert payload["buttons"] == [
        {"title": "Tiếng Việt", "type": "oa.query.show", "payload": "Tiếng Việt"},
        {"title": "English", "type": "oa.query.show", "payload": "English"},
    ]
    many = sender.render(_msg("Khối phố?", *(f"Khối {n}" for n in range(1, 7))))
    assert many == [{"text": "Khối phố?\n" + "\n".join(f"  {n}. Khối {n}" for n in range(1, 7))}]
    long = sender.render(_msg("a" * 4500, "OK", "Không"))
    assert [len(p.get("text", "")) for p in long[:2]] == [2000, 2000]
    assert long[2]["attachment"]["payload"]["text"] == "a" * 500
    sender.buttons = False
    assert sender.render(_msg("Chọn", "A", "B")) == [{"text": "Chọn\n  1. A\n  2. B"}]


async def test_sends_and_a_tap_is_the_label(sender: OaSender, fake_oa: FakeZaloOa) -> None:
    result = await sender.send(_msg("Nhận tiếp tin ngày mai?", "Nhận tiếp tin ngày mai"))
    assert result.status is SendStatus.OK
    [call] = fake_oa.sent_to(USER)
    button = call.params["message"]["attachment"]["payload"]["buttons"][0]
    assert button["payload"] == "Nhận tiếp tin ngày mai"


async def test_text_over_2000_characters_goes_in_parts(
    sender: OaSender, fake_oa: FakeZaloOa
) -> None:
    result = await sender.send(_msg("b" * 4100))
    assert result.status is SendStatus.OK
    assert [len(c.text or "") for c in fake_oa.sent_to(USER)] == [2000, 2000, 100]


@pytest.mark.parametrize(
    ("code", "status", "retry_after", "reason"),
    [
        (-213, SendStatus.BLOCKED, None, "not following"),
        (-230, SendStatus.SKIPPED, None, "7-day window"),
        (-232, SendStatus.SKIPPED, None, "never interacted"),
        (-217, SendStatus.SKIPPED, None, "blocked"),
        (-211, SendStatus.RETRY, 3600.0, "quota"),
        (-32, SendStatus.RETRY, 60.0, "rate limit"),
        (-200, SendStatus.RETRY, None, "send failed"),
        (-204, SendStatus.RETRY, 3600.0, "OA cannot send"),
        (-210, SendStatus.FAILED, None, "refused"),
    ],
)
async def test_error_codes(
    sender: OaSender,
    fake_oa: FakeZaloOa,
    code: int,
    status: SendStatus,
    retry_after: float | None,
    reason: str,
) -> None:
    fake_oa.fail_next(code)
    result = await sender.send(_msg("Tin hôm nay"))
    assert result.status is status
    assert result.retry_after == retry_after
    assert result.error is not None
    assert reason in result.error
    assert fake_oa.sent_to(USER) == []


@pytest.mark.parametrize("code", [-216, -220])
async def test_token_errors_refresh_and_send_again(
    sender: OaSender, fake_oa: FakeZaloOa, code: int
) -> None:
    fake_oa.fail_next(code)
    result = await sender.send(_msg("Tin hôm nay"))
    assert result.status is SendStatus.OK
    assert fake_oa.refreshes == 1
    assert len(fake_oa.sent_to(USER)) == 1


async def test_the_access_token_expires_mid_broadcast(
    sender: OaSender, fake_oa: FakeZaloOa
) -> None:
    users = [f"10{n:04d}" for n in range(60)]
    for user in users:
        fake_oa.follower(user).following = True
        fake_oa.interacted(user)
    first = await asyncio.gather(*(sender.send(_msg("Tin", user=u)) for u in users[:30]))
    fake_oa.expire_access_tokens()
    rest = await asyncio.gather(*(sender.send(_msg("Tin", user=u)) for u in users[30:]))
    assert {r.status for r in first + rest} == {SendStatus.OK}
    assert fake_oa.refreshes == 1  # 30 concurrent -220s, one refresh
    assert len(fake_oa.sent.calls) == 60


async def test_a_refused_button_template_falls_back_to_numbered_text(
    sender: OaSender, fake_oa: FakeZaloOa
) -> None:
    fake_oa.fail_next(-233)
    result = await sender.send(_msg("Chọn", "A", "B"))
    assert result.status is SendStatus.OK
    assert not sender.buttons
    assert [c.text for c in fake_oa.sent_to(USER)] == ["Chọn\n  1. A\n  2. B"]
