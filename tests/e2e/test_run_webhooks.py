"""`loa run` serves Telegram and Zalo webhooks and /healthz on one port (fake servers on 127.0.0.1).

The whole of `run_bot` runs: migrations, dispatcher, scheduler, the web server, `setWebhook` on
both platforms; updates are POSTed as the platforms would, replies come back to the fakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.app import run_bot
from bot.config import Settings, SettingsError
from fakes.botapi import FakeBotApi
from fakes.zalo_oa import FakeZaloOa
from tests.support.fake_servers import free_port
from tests.support.pack import small_pack

TG_TOKEN = "7000000001:run-webhook-token"
ZALO_TOKEN = "7000000002:run-webhook-zalo"
TG_SECRET = "tg-hook-secret"
ZALO_SECRET = "zalo-hook-secret"


@dataclass
class Running:
    fake: FakeBotApi
    base: str
    http: httpx.AsyncClient
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def zalo_post(self, update: Mapping[str, object], secret: str = ZALO_SECRET) -> int:
        response = await self.http.post(
            f"{self.base}/zalo/hook", json=update, headers={"X-Bot-Api-Secret-Token": secret}
        )
        return response.status_code


def settings(tmp_path: Path, fake: FakeBotApi, port: int, **extra: object) -> Settings:
    values: dict[str, object] = {
        "telegram_bot_token": SecretStr(TG_TOKEN),
        "telegram_api_base_url": f"{fake.url}/bot",
        "telegram_webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
        "telegram_webhook_secret": SecretStr(TG_SECRET),
        "zalo_bot_token": SecretStr(ZALO_TOKEN),
        "zalo_api_base_url": f"{fake.url}/zalo/bot",
        "zalo_webhook_url": f"http://127.0.0.1:{port}/zalo/hook",
        "zalo_webhook_secret": SecretStr(ZALO_SECRET),
        "loa_web_port": port,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    port = free_port()
    async with FakeBotApi() as fake, httpx.AsyncClient(trust_env=False, timeout=10) as http:
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings(tmp_path, fake, port), small_pack(), stop=stop))
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # until the server answers and both webhooks are set
            if task.done():
                task.result()
            try:
                ready = (await http.get(f"{base}/healthz")).status_code == 200
            except httpx.TransportError:
                ready = False
            if ready and fake.webhook and fake.zalo.webhook:
                break
            await asyncio.sleep(0.05)
        try:
            yield Running(fake, base, http, stop, task)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)


async def test_one_port_serves_both_webhooks_and_health(running: Running) -> None:
    fake = running.fake
    assert fake.webhook["url"].endswith("/telegram/hook")
    assert fake.webhook["secret_token"] == TG_SECRET
    assert fake.zalo.webhook["url"].endswith("/zalo/hook")
    assert fake.zalo.webhook["secret_token"] == ZALO_SECRET

    update = fake.message_update(501, "/start")
    status = await fake.post_update_to(f"{running.base}/telegram/hook", update, TG_SECRET)
    assert status == 200
    await fake.wait_for(1, chat_id="501", timeout=10)

    fake.zalo.push_message("501", "/start")  # the same id as the Telegram chat, another person
    # delivered as Zalo does: {"ok": true, "result": update} with the secret header
    assert await fake.zalo.deliver(fake.zalo.take("501")) == 200
    await fake.zalo.wait_for(1, chat_id="501", method="sendMessage", timeout=10)

    health = (await running.http.get(f"{running.base}/healthz")).json()
    assert health["ok"] is True
    assert set(health["checks"]) == {"database", "scheduler", "dispatcher"}
    assert health["channels"]["telegram"]["last_received"] is not None
    assert health["channels"]["zalo"]["last_sent"] is not None


async def test_bad_webhook_calls_leave_the_server_up(running: Running) -> None:
    fake = running.fake
    update = fake.message_update(502, "/start")
    url = f"{running.base}/telegram/hook"
    assert await fake.post_update_to(url, update) == 403
    assert await fake.post_update_to(url, update, "wrong-secret") == 403
    assert await running.zalo_post({"event_name": "message.text.received"}, "nope") == 403
    bad = await running.http.post(
        url, content=b"{oops", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    )
    assert bad.status_code == 400
    unknown = {"event_name": "message.reaction.received", "message": {}}
    assert await running.zalo_post(unknown) == 200  # an event Loa ignores on purpose
    assert fake.sent_to("502") == []
    # a replayed update is answered once
    assert await fake.post_update_to(url, update, TG_SECRET) == 200
    await fake.wait_for(1, chat_id="502", timeout=10)
    sent = len(fake.sent_to("502"))
    assert await fake.post_update_to(url, update, TG_SECRET) == 200
    await asyncio.sleep(0.3)
    assert len(fake.sent_to("502")) == sent
    # the same on Zalo, whose updates carry no update id: the message id is the key
    fake.zalo.push_message("z502", "/start")
    zalo_update = fake.zalo.take("z502")
    assert await fake.zalo.deliver(zalo_update) == 200
    await fake.zalo.wait_for(1, chat_id="z502", method="sendMessage", timeout=10)
    zalo_sent = len(fake.zalo.sent_to("z502"))
    assert await fake.zalo.deliver(zalo_update) == 200
    assert await fake.zalo.deliver(zalo_update, secret="wrong-secret") == 403
    await asyncio.sleep(0.3)
    assert len(fake.zalo.sent_to("z502")) == zalo_sent
    assert (await running.http.get(f"{running.base}/healthz")).status_code == 200


async def test_a_webhook_without_its_secret_stops_start_up(tmp_path: Path) -> None:
    async with FakeBotApi() as fake:
        config = settings(tmp_path, fake, free_port(), zalo_webhook_secret=None)
        with pytest.raises(SettingsError, match="ZALO_WEBHOOK_SECRET: required"):
            await run_bot(config, small_pack(), stop=asyncio.Event())


async def test_the_oa_webhook_is_served_on_the_same_port(tmp_path: Path) -> None:
    """The Zalo OA's events reach `POST /webhooks/zalo-oa` on Loa's one web server; the OA's
    own signature is checked there (no secret header of Loa's)."""
    port = free_port()
    async with FakeZaloOa() as oa, httpx.AsyncClient(trust_env=False, timeout=10) as http:
        config = Settings(
            _env_file=None,
            zalo_oa_id=oa.oa_id,
            zalo_oa_app_id=oa.app_id,
            zalo_oa_app_secret=SecretStr(oa.app_secret),
            zalo_oa_webhook_secret=SecretStr(oa.oa_secret),
            zalo_oa_token_key=SecretStr(Fernet.generate_key().decode()),
            zalo_oa_oauth_base_url=oa.url,
            zalo_oa_api_base_url=oa.url,
            loa_web_port=port,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'oa.db'}",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(config, small_pack(), stop=stop))
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                if task.done():
                    task.result()
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            oa.webhook_url = f"{base}/webhooks/zalo-oa"
            assert await oa.follow("u-oa-1") == 200
            assert await oa.user_text("u-oa-1", "xin chào") == 200
            assert await oa.deliver_raw(b"{}", "mac=0") == 401
            health = (await http.get(f"{base}/healthz")).json()
            assert "zalo_oa" in health["channels"]
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
