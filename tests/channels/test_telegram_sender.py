"""The lean Telegram sender against the fake Bot API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.base import Attachment, Choice, MenuCommand, Outbound, SendStatus
from bot.channels.telegram.sender import TelegramSender, build_keyboard, classify_response
from fakes.botapi import FakeBotApi

TOKEN = "7000000001:test-token"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def sender(server: FakeBotApi) -> AsyncIterator[TelegramSender]:
    client = TelegramSender(TOKEN, f"{server.url}/bot", timeout=2.0)
    try:
        yield client
    finally:
        await client.aclose()


async def test_plain_message_is_sent(server: FakeBotApi, sender: TelegramSender) -> None:
    result = await sender.send(Outbound("telegram", "42", "Xin chào"))
    assert result.status is SendStatus.OK
    assert server.texts_to("42") == ["Xin chào"]


async def test_long_text_is_split_with_buttons_on_the_last_chunk(
    server: FakeBotApi, sender: TelegramSender
) -> None:
    paragraph = "Bình đẳng giới bắt đầu từ gia đình. " * 30  # about 1,080 characters
    text = "\n\n".join([paragraph.strip()] * 5)  # about 5,400 characters
    assert len(text) > 5000
    choices = (Choice("Có", "yes"), Choice("Không", "no"), Choice("Để sau", "later"))
    result = await sender.send(Outbound("telegram", "7", text, choices, columns=2))
    assert result.status is SendStatus.OK
    calls = server.sent_to("7")
    assert len(calls) == 2
    assert all(len(call.text or "") <= 4096 for call in calls)
    assert "".join((call.text or "").replace("\n", "") for call in calls) == text.replace("\n", "")
    assert "reply_markup" not in calls[0].params
    keyboard = calls[1].params["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in keyboard] == [["yes", "no"], ["later"]]


async def test_429_is_retry_with_retry_after(server: FakeBotApi, sender: TelegramSender) -> None:
    server.fail_next("sendMessage", 429, retry_after=3)
    result = await sender.send(Outbound("telegram", "1", "x"))
    assert (result.status, result.retry_after) == (SendStatus.RETRY, 3.0)


async def test_403_is_blocked(server: FakeBotApi, sender: TelegramSender) -> None:
    server.forbidden_chats.add("99")
    result = await sender.send(Outbound("telegram", "99", "x"))
    assert result.status is SendStatus.BLOCKED
    assert server.sent_to("99") == []


async def test_migrated_group_reports_new_id(server: FakeBotApi, sender: TelegramSender) -> None:
    server.migrate_chat("-100", -1001234)
    result = await sender.send(Outbound("telegram", "-100", "x"))
    assert (result.status, result.new_chat_id) == (SendStatus.MIGRATED, "-1001234")


async def test_5xx_is_retry_and_other_400_is_failed(
    server: FakeBotApi, sender: TelegramSender
) -> None:
    server.fail_next("sendMessage", 502)
    assert (await sender.send(Outbound("telegram", "1", "x"))).status is SendStatus.RETRY
    server.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    failed = await sender.send(Outbound("telegram", "1", "x"))
    assert (failed.status, failed.error) == (SendStatus.FAILED, "400 bad request")


async def test_timeout_is_retry(server: FakeBotApi) -> None:
    client = TelegramSender(TOKEN, f"{server.url}/bot", timeout=0.2)
    try:
        server.delay_next("sendMessage", 1.0)
        result = await client.send(Outbound("telegram", "1", "slow"))
        assert (result.status, result.error) == (SendStatus.RETRY, "timeout")
        # the pool recovers: the next send goes through on a fresh connection
        assert (await client.send(Outbound("telegram", "1", "fast"))).status is SendStatus.OK
    finally:
        await client.aclose()


async def test_connection_refused_is_retry() -> None:
    async with FakeBotApi() as fake:
        url = f"{fake.url}/bot"
    client = TelegramSender(TOKEN, url, timeout=1.0)
    try:
        result = await client.send(Outbound("telegram", "1", "x"))
    finally:
        await client.aclose()
    assert result.status is SendStatus.RETRY
    assert result.error is not None
    assert TOKEN not in result.error


async def test_many_concurrent_sends_share_the_pool(
    server: FakeBotApi, sender: TelegramSender
) -> None:
    results = await asyncio.gather(
        *(sender.send(Outbound("telegram", str(i), f"m{i}")) for i in range(200))
    )
    assert {r.status for r in results} == {SendStatus.OK}
    assert len(server.sent) == 200


def test_keyboard_refuses_callback_data_over_64_bytes() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        build_keyboard((Choice("x", "đ" * 33),), 1)


def test_classify_reads_only_the_needed_fields() -> None:
    body = b'{"ok":false,"error_code":429,"parameters":{"retry_after":7}}'
    assert classify_response(429, body).retry_after == 7.0
    assert classify_response(200, b"not json").status is SendStatus.OK
    assert classify_response(500, b"<html>").status is SendStatus.RETRY


async def test_a_message_with_buttons_gives_its_id_and_clearing_them_twice_is_done(
    server: FakeBotApi, sender: TelegramSender
) -> None:
    plain = await sender.send(Outbound("telegram", "9", "Xin chào"))
    assert plain.message_ref is None  # only messages with buttons are remembered
    result = await sender.send(Outbound("telegram", "9", "Câu hỏi?", (Choice("Có", "y"),)))
    assert result.message_ref is not None
    message_id = int(result.message_ref)
    assert server.markup_of("9", message_id) is not None
    cleared = await sender.clear_choices("9", result.message_ref)
    assert cleared.status is SendStatus.OK
    assert server.markup_of("9", message_id) is None
    again = await sender.clear_choices("9", result.message_ref)  # «message is not modified»
    assert again.status is SendStatus.OK
    missing = await sender.clear_choices("9", "999")  # «message to edit not found»
    assert missing.status is SendStatus.FAILED


async def test_a_file_goes_as_a_multipart_document_with_its_caption(
    server: FakeBotApi, sender: TelegramSender, tmp_path: Path
) -> None:
    path = tmp_path / "bao-cao.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    file = Attachment(str(path), "bao-cao.xlsx", "application/vnd.ms-excel")
    result = await sender.send(Outbound("telegram", "5", "Báo cáo tổng hợp", attachment=file))
    assert result.status is SendStatus.OK
    (call,) = server.sent_to("5")
    assert call.method == "sendDocument"
    assert call.text == "Báo cáo tổng hợp"
    assert call.params["document"]["filename"] == "bao-cao.xlsx"
    assert call.params["document"]["data"] == path.read_bytes()


async def test_a_png_goes_as_a_photo_and_a_long_text_before_it(
    server: FakeBotApi, sender: TelegramSender, tmp_path: Path
) -> None:
    path = tmp_path / "chart.png"
    path.write_bytes(b"\x89PNG fake")
    text = "Biểu đồ. " * 200  # longer than a caption may be (1,024)
    photo = Attachment(str(path), "chart.png", "image/png", photo=True)
    result = await sender.send(Outbound("telegram", "6", text, attachment=photo))
    assert result.status is SendStatus.OK
    calls = server.sent_to("6")
    assert [c.method for c in calls] == ["sendMessage", "sendPhoto"]
    assert "caption" not in calls[1].params


async def test_a_missing_file_is_a_permanent_failure(
    server: FakeBotApi, sender: TelegramSender, tmp_path: Path
) -> None:
    file = Attachment(str(tmp_path / "gone.csv"), "gone.csv", "text/csv")
    result = await sender.send(Outbound("telegram", "8", "x", attachment=file))
    assert result.status is SendStatus.FAILED
    assert server.sent_to("8") == []


async def test_a_menu_is_set_for_that_chat_only_before_the_text(
    server: FakeBotApi, sender: TelegramSender
) -> None:
    menu = (MenuCommand("tinhhinh", "Tình hình báo cáo"), MenuCommand("trogiup", "Hướng dẫn"))
    result = await sender.send(Outbound("telegram", "9", "Đã xác nhận", menu=menu))
    assert result.status is SendStatus.OK
    assert server.commands[("chat:9", "")] == [
        {"command": "tinhhinh", "description": "Tình hình báo cáo"},
        {"command": "trogiup", "description": "Hướng dẫn"},
    ]
    assert ("default", "") not in server.commands
    assert server.texts_to("9") == ["Đã xác nhận"]


async def test_edit_text_replaces_a_sent_messages_text_and_buttons(
    server: FakeBotApi, sender: TelegramSender
) -> None:
    stop = (Choice("Dừng", "bc:stop:1"),)
    sent = await sender.send(Outbound("telegram", "11", "Đã gửi 0/100", stop))
    assert sent.message_ref is not None
    message_id = int(sent.message_ref)
    halfway = Outbound("telegram", "11", "Đã gửi 50/100", stop)
    assert (await sender.edit_text(sent.message_ref, halfway)).status is SendStatus.OK
    assert server.markup_of("11", message_id) == {
        "inline_keyboard": [[{"text": "Dừng", "callback_data": "bc:stop:1"}]]
    }
    # the same text and buttons again (an edit repeated after a restart): Telegram answers
    # «message is not modified», which counts as done
    assert (await sender.edit_text(sent.message_ref, halfway)).status is SendStatus.OK
    done = Outbound("telegram", "11", "Xong 100/100")  # no choices: the buttons go
    assert (await sender.edit_text(sent.message_ref, done)).status is SendStatus.OK
    assert server.markup_of("11", message_id) is None
    missing = await sender.edit_text("999", done)  # «message to edit not found»
    assert missing.status is SendStatus.FAILED
    edits = server.sent_to("11", "editMessageText")
    assert [c.text for c in edits] == ["Đã gửi 50/100", "Xong 100/100"]
    assert "reply_markup" not in edits[-1].params


async def test_a_429_on_an_edit_is_a_retry_with_its_wait(
    server: FakeBotApi, sender: TelegramSender
) -> None:
    sent = await sender.send(Outbound("telegram", "12", "0%", (Choice("Dừng", "s"),)))
    assert sent.message_ref is not None
    server.fail_next("editMessageText", 429, retry_after=3)
    result = await sender.edit_text(sent.message_ref, Outbound("telegram", "12", "50%"))
    assert (result.status, result.retry_after) == (SendStatus.RETRY, 3.0)
