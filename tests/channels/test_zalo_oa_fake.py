"""The fake OA and the OA client together: OAuth v4 with PKCE, single-use refresh, the message
API's window, free frame, quota, rate limit and error shapes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from bot.channels.zalo_oa.client import OaApiError, OaAuthError, OaClient
from bot.channels.zalo_oa.login import login, new_pkce, permission_url, read_code
from bot.channels.zalo_oa.tokens import TokenVault, new_key
from bot.clock import FakeClock
from bot.storage.db import Database
from fakes.zalo_oa import ACCESS_TTL_S, FakeZaloOa

TEXT = {"text": "Xin chào"}


async def _login(fake: FakeZaloOa, client: OaClient, clock: FakeClock) -> tuple[str, str]:
    pkce = new_pkce()
    pair = await client.token_from_code(
        fake.authorize(pkce.challenge), pkce.verifier, now=clock.now()
    )
    return pair.access_token, pair.refresh_token


def test_pkce_and_permission_url() -> None:
    pkce = new_pkce()
    assert len(pkce.verifier) == 43
    assert "=" not in pkce.challenge
    url = permission_url(app_id="1", redirect_uri="https://x.vn/cb", challenge="abc", state="s1")
    assert url.startswith("https://oauth.zaloapp.com/v4/oa/permission?app_id=1&redirect_uri=")
    assert "code_challenge=abc" in url
    assert read_code("https://x.vn/cb?code=XYZ&oa_id=6&state=s1", state="s1") == "XYZ"
    assert read_code(" XYZ ", state="s1") == "XYZ"
    with pytest.raises(ValueError, match="state"):
        read_code("https://x.vn/cb?code=XYZ&state=other", state="s1")


async def test_code_exchange_needs_the_verifier_and_works_once(
    fake_oa: FakeZaloOa, oa_client: OaClient, oa_clock: FakeClock
) -> None:
    pkce = new_pkce()
    code = fake_oa.authorize(pkce.challenge)
    with pytest.raises(OaAuthError):
        await oa_client.token_from_code(code, new_pkce().verifier, now=oa_clock.now())
    code = fake_oa.authorize(pkce.challenge)
    pair = await oa_client.token_from_code(code, pkce.verifier, now=oa_clock.now())
    assert pair.access_expires_at == oa_clock.now() + timedelta(seconds=ACCESS_TTL_S)
    assert "access_token" not in repr(pair)
    assert pair.access_token not in repr(pair)
    with pytest.raises(OaAuthError):  # single use
        await oa_client.token_from_code(code, pkce.verifier, now=oa_clock.now())


async def test_code_expires_after_ten_minutes(
    fake_oa: FakeZaloOa, oa_client: OaClient, oa_clock: FakeClock
) -> None:
    pkce = new_pkce()
    code = fake_oa.authorize(pkce.challenge)
    oa_clock.advance(timedelta(minutes=11))
    with pytest.raises(OaAuthError):
        await oa_client.token_from_code(code, pkce.verifier, now=oa_clock.now())


async def test_refresh_is_single_use_and_kills_the_old_access_token(
    fake_oa: FakeZaloOa, oa_client: OaClient, oa_clock: FakeClock
) -> None:
    access, refresh = await _login(fake_oa, oa_client, oa_clock)
    fake_oa.follower("u1").following = True
    fake_oa.interacted("u1")
    new = await oa_client.token_from_refresh(refresh, now=oa_clock.now())
    with pytest.raises(OaAuthError) as used:
        await oa_client.token_from_refresh(refresh, now=oa_clock.now())
    assert used.value.code < 0
    with pytest.raises(OaApiError) as old:
        await oa_client.send_cs(access, "u1", TEXT)
    assert old.value.code == -216
    assert (await oa_client.send_cs(new.access_token, "u1", TEXT))["user_id"] == "u1"


async def test_access_token_expires_after_25_hours(
    fake_oa: FakeZaloOa, oa_client: OaClient, oa_clock: FakeClock
) -> None:
    access, _ = await _login(fake_oa, oa_client, oa_clock)
    fake_oa.interacted("u1")
    fake_oa.follower("u1").following = True
    oa_clock.advance(timedelta(hours=25))
    fake_oa.interacted("u1")
    with pytest.raises(OaApiError) as expired:
        await oa_client.send_cs(access, "u1", TEXT)
    assert expired.value.code == -220


@pytest.mark.parametrize(
    ("following", "last_seen_days_ago", "code"),
    [(False, 0.0, -213), (True, None, -232), (True, 8.0, -230), (True, 6.9, 0)],
)
async def test_window_and_followers(
    fake_oa: FakeZaloOa,
    oa_client: OaClient,
    oa_clock: FakeClock,
    following: bool,
    last_seen_days_ago: float | None,
    code: int,
) -> None:
    access, _ = await _login(fake_oa, oa_client, oa_clock)
    follower = fake_oa.follower("u1")
    follower.following = following
    if last_seen_days_ago is not None:
        fake_oa.interacted("u1", oa_clock.now() - timedelta(days=last_seen_days_ago))
    if code == 0:
        data = await oa_client.send_cs(access, "u1", TEXT)
        assert data["quota"]["quota_type"] == "purchase_quota"  # past 48 h: billable
        assert fake_oa.billed == 1
        return
    with pytest.raises(OaApiError) as refused:
        await oa_client.send_cs(access, "u1", TEXT)
    assert refused.value.code == code
    assert fake_oa.sent_to("u1") == []


async def test_free_frame_then_quota(
    fake_oa: FakeZaloOa, oa_client: OaClient, oa_clock: FakeClock
) -> None:
    access, _ = await _login(fake_oa, oa_client, oa_clock)
    fake_oa.follower("u1").following = True
    fake_oa.interacted("u1")
    fake_oa.quota = 1
    for _ in range(8):  # 8 free within 48 h
        await oa_client.send_cs(access, "u1", TEXT)
    assert fake_oa.billed == 0
    await oa_client.send_cs(access, "u1", TEXT)  # the 9th costs quota
    with pytest.raises(OaApiError) as out:
        await oa_client.send_cs(access, "u1", TEXT)
    assert out.value.code == -211
    fake_oa.interacted("u1")  # the person writes: a new free frame
    await oa_client.send_cs(access, "u1", TEXT)
    assert len(fake_oa.sent_to("u1")) == 10


async def test_rate_limit_and_message_checks(
    fake_oa: FakeZaloOa, oa_client: OaClient, oa_clock: FakeClock
) -> None:
    access, _ = await _login(fake_oa, oa_client, oa_clock)
    fake_oa.follower("u1").following = True
    fake_oa.interacted("u1")
    fake_oa.rate_per_minute = 2
    await oa_client.send_cs(access, "u1", TEXT)
    await oa_client.send_cs(access, "u1", TEXT)
    with pytest.raises(OaApiError) as limited:
        await oa_client.send_cs(access, "u1", TEXT)
    assert limited.value.code == -32
    oa_clock.advance(timedelta(minutes=1))
    with pytest.raises(OaApiError) as long:
        await oa_client.send_cs(access, "u1", {"text": "x" * 2001})
    assert long.value.code == -210
    with pytest.raises(OaApiError) as kind:
        await oa_client.send_cs(access, "u1", {"attachment": {"type": "template", "payload": {}}})
    assert kind.value.code == -233
    fake_oa.fail_next(-200)
    with pytest.raises(OaApiError) as injected:
        await oa_client.send_cs(access, "u1", TEXT)
    assert injected.value.code == -200


async def test_login_walks_the_operator_through_the_grant(
    fake_oa: FakeZaloOa, oa_client: OaClient, oa_clock: FakeClock, sqlite_db: Database
) -> None:
    printed: list[str] = []

    def ask(_prompt: str) -> str:
        # the admin opens the printed URL and grants; Zalo redirects with code and state
        query = parse_qs(urlparse(printed[1]).query)
        code = fake_oa.authorize(query["code_challenge"][0])
        return f"https://ward.example.vn/cb?code={code}&oa_id={fake_oa.oa_id}&state={query['state'][0]}"

    vault = TokenVault(sqlite_db, fake_oa.oa_id, new_key())
    await login(
        oa_client,
        vault,
        oa_clock,
        app_id=fake_oa.app_id,
        redirect_uri="https://ward.example.vn/cb",
        ask=ask,
        say=printed.append,
    )
    stored = await vault.load()
    assert stored is not None
    assert stored[1] == 1
    assert printed[-1].startswith("Stored.")
    assert stored[0].access_token not in "".join(printed)
