"""The Zalo sender: rendering and splitting, then over real HTTP against the fake Zalo routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.base import Choice, Outbound, SendStatus, render_choices
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.sender import MAX_TEXT, ZaloSender, render_chunks
from fakes.botapi import FakeBotApi

TOKEN = "7000000001:zalo-test-token"
CHOICES = (Choice("Tiếng Việt", "lang:vi"), Choice("English", "lang:en"))
PARAGRAPH = "Bình đẳng giới bắt đầu từ gia đình, từ việc chia sẻ việc nhà mỗi ngày. " * 12


def out(text: str, choices: tuple[Choice, ...] = (), *, numbered: bool = True) -> Outbound:
    return Outbound("zalo", "c1", text, choices, numbered=numbered)


# ---------------------------------------------------------------- rendering (no network)


def test_numbered_choices_become_numbered_lines() -> None:
    chunks = render_chunks(out("Bạn muốn đọc tin bằng ngôn ngữ nào?", CHOICES))
    assert chunks == ["Bạn muốn đọc tin bằng ngôn ngữ nào?\n  1. Tiếng Việt\n  2. English"]


def test_unnumbered_choices_become_a_short_label_line() -> None:
    message = out("Số người tham gia?", (Choice("Quay lại", "back"),), numbered=False)
    assert render_choices(message) == "\n(Quay lại)"
    two = out("x", (Choice("Quay lại", "b"), Choice("Hủy", "c")), numbered=False)
    assert render_chunks(two) == ["x\n(Quay lại / Hủy)"]


def test_plain_text_is_one_chunk_and_empty_is_nothing() -> None:
    assert render_chunks(out("Xin chào")) == ["Xin chào"]
    assert render_chunks(out("")) == []
    assert render_chunks(out("", CHOICES)) == ["  1. Tiếng Việt\n  2. English"]


def test_text_of_exactly_the_limit_is_one_chunk() -> None:
    assert render_chunks(out("a" * MAX_TEXT)) == ["a" * MAX_TEXT]


def test_long_text_is_split_with_choices_on_a_last_chunk_that_fits() -> None:
    text = "\n\n".join([PARAGRAPH.strip()] * 6)
    assert len(text) > 5000
    chunks = render_chunks(out(text, CHOICES))
    assert len(chunks) >= 3
    assert all(len(chunk) <= MAX_TEXT for chunk in chunks)
    assert chunks[-1].endswith("\n  1. Tiếng Việt\n  2. English")
    assert not any("1. Tiếng Việt" in chunk for chunk in chunks[:-1])
    rebuilt = "".join(chunk.replace("\n", "").replace(" ", "") for chunk in chunks)
    expected = (text + "1. Tiếng Việt2. English").replace("\n", "").replace(" ", "")
    assert rebuilt == expected


def test_text_just_under_the_limit_moves_a_part_so_the_choices_fit() -> None:
    text = ("chữ " * 600).strip()[:1990]
    chunks = render_chunks(out(text, CHOICES))
    assert len(chunks) == 2
    assert all(len(chunk) <= MAX_TEXT for chunk in chunks)
    assert chunks[-1].endswith("2. English")


def test_a_huge_list_of_choices_goes_in_messages_of_its_own() -> None:
    many = tuple(Choice(f"Khối phố {n} " + "x" * 40, f"grp:{n}") for n in range(40))
    chunks = render_chunks(out(PARAGRAPH, many))
    assert all(len(chunk) <= MAX_TEXT for chunk in chunks)
    assert chunks[0] == PARAGRAPH
    assert chunks[1].startswith("  1. Khối phố 0")
    assert chunks[-1].endswith("40. Khối phố 39 " + "x" * 40)


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeBotApi) -> AsyncIterator[ZaloClient]:
    zalo = ZaloClient(TOKEN, f"{server.url}/zalo/bot", timeout=2.0)
    try:
        yield zalo
    finally:
        await zalo.aclose()


@pytest.fixture
def sender(client: ZaloClient) -> ZaloSender:
    return ZaloSender(client)


def texts(server: FakeBotApi, chat_id: str) -> list[str]:
    return [call.text or "" for call in server.zalo.sent_to(chat_id, "sendMessage")]


async def test_message_with_choices_is_sent(server: FakeBotApi, sender: ZaloSender) -> None:
    result = await sender.send(Outbound("zalo", "a1", "Chọn:", CHOICES))
    assert result.status is SendStatus.OK
    assert texts(server, "a1") == ["Chọn:\n  1. Tiếng Việt\n  2. English"]


async def test_long_text_is_split_under_2000(server: FakeBotApi, sender: ZaloSender) -> None:
    text = "\n\n".join([PARAGRAPH.strip()] * 6)
    result = await sender.send(Outbound("zalo", "a2", text, CHOICES))
    assert result.status is SendStatus.OK
    sent = texts(server, "a2")
    assert len(sent) >= 3
    assert all(len(x) <= 2000 for x in sent)
    assert sent[-1].endswith("2. English")
    assert server.zalo.stats.errors_by_status[400] == 0


async def test_403_is_blocked(server: FakeBotApi, sender: ZaloSender) -> None:
    server.zalo.forbidden_chats.add("b1")
    result = await sender.send(Outbound("zalo", "b1", "x"))
    assert (result.status, result.error) == (SendStatus.BLOCKED, "403 forbidden")
    assert texts(server, "b1") == []


async def test_429_and_5xx_are_retry(server: FakeBotApi, sender: ZaloSender) -> None:
    server.zalo.fail_next("sendMessage", 429)
    limited = await sender.send(Outbound("zalo", "r1", "x"))
    assert (limited.status, limited.retry_after) == (SendStatus.RETRY, None)
    server.zalo.fail_next("sendMessage", 502)
    failed = await sender.send(Outbound("zalo", "r1", "x"))
    assert (failed.status, failed.error) == (SendStatus.RETRY, "502 server error")
    assert (await sender.send(Outbound("zalo", "r1", "x"))).status is SendStatus.OK


async def test_400_is_failed_without_user_text(server: FakeBotApi, sender: ZaloSender) -> None:
    server.zalo.fail_next("sendMessage", 400, description="Bad Request: bí mật")
    result = await sender.send(Outbound("zalo", "f1", "x"))
    assert (result.status, result.error) == (SendStatus.FAILED, "400 bad request")


async def test_a_failing_chunk_stops_the_message_and_the_retry_sends_it_whole(
    server: FakeBotApi, sender: ZaloSender
) -> None:
    text = "\n\n".join([PARAGRAPH.strip()] * 3)
    assert len(text) > 2000
    server.zalo.fail_next("sendMessage", 503)
    assert (await sender.send(Outbound("zalo", "g1", text))).status is SendStatus.RETRY
    assert texts(server, "g1") == []  # nothing after the failed chunk was tried
    assert (await sender.send(Outbound("zalo", "g1", text))).status is SendStatus.OK
    assert len(texts(server, "g1")) == 2


async def test_timeout_is_retry(server: FakeBotApi) -> None:
    slow = ZaloClient(TOKEN, f"{server.url}/zalo/bot", timeout=0.1)
    try:
        server.latency_ms = 400
        result = await ZaloSender(slow).send(Outbound("zalo", "t1", "chậm"))
        assert (result.status, result.error) == (SendStatus.RETRY, "timeout")
        server.latency_ms = 0
        assert (await ZaloSender(slow).send(Outbound("zalo", "t1", "nhanh"))).status is (
            SendStatus.OK
        )
    finally:
        await slow.aclose()


async def test_connection_refused_is_retry_and_never_shows_the_token() -> None:
    async with FakeBotApi() as fake:
        url = f"{fake.url}/zalo/bot"
    client = ZaloClient(TOKEN, url, timeout=1.0)
    try:
        result = await ZaloSender(client).send(Outbound("zalo", "1", "x"))
    finally:
        await client.aclose()
    assert result.status is SendStatus.RETRY
    assert result.error is not None
    assert TOKEN not in result.error
    assert "zalo-test-token" not in result.error
