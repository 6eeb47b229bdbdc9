"""The fake Bot API server behaves like Telegram (and Zalo) for the clients we use."""

from __future__ import annotations

import asyncio
import datetime as dtm
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from fakes.botapi import FakeBotApi, SlidingWindow, is_blocked_by_ratio
from fakes.http_server import HttpServer, Request, Response, json_response
from tests.support.network_guard import NetworkAccessBlocked, NetworkGuard, install, is_loopback

TOKEN = "7000000001:LoaTestToken"


class ManualTime:
    """A monotonic source that moves only when told to (for the rate-limit windows)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns when it builds RetryAfter unless time periods are timedeltas.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    return install(monkeypatch)


@pytest.fixture
def manual_time() -> ManualTime:
    return ManualTime()


@pytest.fixture
async def server(manual_time: ManualTime) -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(monotonic=manual_time) as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot"
    ) as ptb_bot:
        yield ptb_bot


@pytest.fixture
async def client(server: FakeBotApi) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
        yield http


# ---------------------------------------------------------------------- PTB against the fake


async def test_ptb_get_me_and_send_message(server: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Đăng ký", callback_data="sub")]])
    message = await bot.send_message(42, "Xin chào, phường Loa!", reply_markup=keyboard)

    assert me.id == 7000000001
    assert me.is_bot
    assert me.username == "loa_test_bot"
    assert message.text == "Xin chào, phường Loa!"
    assert message.chat.id == 42
    assert message.reply_markup == keyboard
    [call] = server.sent_to(42)
    assert (call.method, call.token, call.chat_id) == ("sendMessage", TOKEN, "42")
    assert call.text == "Xin chào, phường Loa!"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "sub"
    assert server.stats.per_chat_accepted["42"] == 1


async def test_edit_message_reply_markup_takes_a_keyboard_off(server: FakeBotApi, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Lễ phát động", callback_data="x")]])
    message = await bot.send_message(42, "Hoạt động: chọn một mục.", reply_markup=keyboard)
    edited = await bot.edit_message_reply_markup(42, message.message_id, reply_markup=None)
    assert isinstance(edited, Message)
    assert edited.reply_markup is None
    assert server.markup_of(42, message.message_id) is None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(42, message.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_reply_markup(42, 999, reply_markup=None)
    assert [c.method for c in server.sent_to(42)] == ["sendMessage", "editMessageReplyMarkup"]


async def test_set_my_commands_in_two_languages(server: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Bắt đầu")], language_code="vi")
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])

    english = server.commands[("default", "")]
    vietnamese = server.commands[("default", "vi")]

    assert [c["command"] for c in english] == ["start", "help"]
    assert [c["description"] for c in vietnamese] == ["Bắt đầu"]
    assert set(server.commands) == {("default", ""), ("default", "vi")}


async def test_invalid_command_name_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bat-Dau", "x")])


async def test_long_polling_returns_an_update_pushed_while_waiting(
    server: FakeBotApi, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await server.wait_for_poll()
    update_id = server.push_message(42, "chào")

    [update] = await poll

    assert update.update_id == update_id
    assert update.message is not None
    assert update.message.text == "chào"
    assert update.message.from_user is not None
    assert update.message.from_user.language_code == "vi"


async def test_offset_confirms_updates(server: FakeBotApi, bot: Bot) -> None:
    first = server.push_message(42, "một")
    server.push_message(42, "hai")

    batch = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    after_confirm = await bot.get_updates(offset=first + 1, timeout=0)

    assert len(batch) == 2
    assert [u.update_id for u in again] == [u.update_id for u in batch]  # not yet confirmed
    assert [u.message.text for u in after_confirm if u.message] == ["hai"]
    await bot.get_updates(offset=batch[-1].update_id + 1, timeout=0)
    assert server.pending_updates == 0


async def test_the_same_update_pushed_twice_arrives_twice(server: FakeBotApi, bot: Bot) -> None:
    update = server.message_update(42, "/start")
    server.push_raw(update)
    [first] = await bot.get_updates(timeout=0)
    server.push_raw(update)  # a redelivery after the bot confirmed it

    [second] = await bot.get_updates(offset=first.update_id + 1, timeout=0)

    assert second.update_id == first.update_id
    assert second.message == first.message


async def test_application_in_polling_mode_answers_commands_texts_and_buttons(
    server: FakeBotApi,
) -> None:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{server.url}/bot")
        .base_file_url(f"{server.url}/file/bot")
        .build()
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"start {' '.join(context.args or [])}")

    async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
        await update.message.reply_text("chọn", reply_markup=keyboard)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await context.bot.send_message(42, f"đã chọn {update.callback_query.data}")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text))
    app.add_handler(CallbackQueryHandler(press))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        await app.start()
        server.push_command(42, "/start ma-moi")
        server.push_message(42, "xin chào")
        replies = await server.wait_for(2, chat_id=42, method="sendMessage")
        server.push_callback(42, "a", message_id=int(replies[1].message_id or 0))
        [pressed] = await server.wait_for(lambda call: call.text == "đã chọn a", chat_id=42)
        await app.updater.stop()
        await app.stop()

    assert [call.text for call in replies] == ["start ma-moi", "chọn"]
    assert pressed.method == "sendMessage"
    assert server.sent_to(42, "answerCallbackQuery")
    assert server.pending_updates == 0  # PTB confirmed everything on shutdown


# ---------------------------------------------------------------------- failure injection


async def test_rate_limit_answers_429_with_retry_after(
    server: FakeBotApi, bot: Bot, manual_time: ManualTime
) -> None:
    server.rate_limit_per_s = 2
    await bot.send_message(1, "a")
    await bot.send_message(2, "b")

    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(3, "c")
    manual_time.now += 1.0
    await bot.send_message(3, "c")

    assert refused.value.retry_after == dtm.timedelta(seconds=1)
    assert server.stats.rate_limited == 1
    assert server.stats.send_calls == 4
    assert server.stats.sends_accepted == 3


async def test_per_chat_and_group_limits(
    server: FakeBotApi, bot: Bot, manual_time: ManualTime
) -> None:
    server.per_chat_limit_per_s = 1
    server.group_limit_per_min = 20
    await bot.send_message(42, "một")
    with pytest.raises(RetryAfter):
        await bot.send_message(42, "hai")
    await bot.send_message(43, "khác")  # another chat is not held back
    for _ in range(20):
        manual_time.now += 1.0
        await bot.send_message(-100500, "nhóm")
    manual_time.now += 1.0

    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(-100500, "quá")

    assert refused.value.retry_after == dtm.timedelta(seconds=40)


def test_sliding_window_for_fractional_rates() -> None:
    window = SlidingWindow.per_second(0.5)
    window.add("k", 0.0)

    assert (window.limit, window.window_s) == (1, 2.0)
    assert window.retry_after("k", 0.5) == 2
    assert window.retry_after("k", 2.0) == 0


async def test_forbidden_chats_answer_403(server: FakeBotApi, bot: Bot) -> None:
    server.forbidden_chats.add("66")

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(66, "chào")

    assert server.stats.forbidden == 1
    assert server.sent == []


def test_forbidden_ratio_is_deterministic() -> None:
    fake = FakeBotApi(forbidden_ratio=0.2)
    blocked = [chat for chat in range(10_000) if fake.is_forbidden(chat)]

    assert 1_800 < len(blocked) < 2_200
    assert all(is_blocked_by_ratio(str(chat), 0.2) for chat in blocked)
    assert blocked == [chat for chat in range(10_000) if fake.is_forbidden(str(chat))]


async def test_fail_next_502_then_recovers(server: FakeBotApi, bot: Bot) -> None:
    server.fail_next("sendMessage", 502)

    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(42, "một")
    await bot.send_message(42, "một")

    assert server.texts_to(42) == ["một"]
    assert server.stats.errors_by_status[502] == 1


async def test_fail_next_429_for_one_chat_only(server: FakeBotApi, bot: Bot) -> None:
    server.fail_next("sendMessage", 429, retry_after=7, chat_id=42)

    await bot.send_message(43, "khác")
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(42, "một")

    assert refused.value.retry_after == dtm.timedelta(seconds=7)


async def test_delay_makes_the_client_time_out_and_the_send_is_lost(
    server: FakeBotApi, bot: Bot
) -> None:
    server.delay_next("sendMessage", 2.0)

    with pytest.raises(TimedOut):
        await bot.send_message(42, "chậm", read_timeout=0.1)
    await bot.send_message(42, "nhanh")

    assert server.texts_to(42) == ["nhanh"]


async def test_delay_with_delivery_models_a_lost_answer(server: FakeBotApi, bot: Bot) -> None:
    server.delay_next("sendMessage", 0.3, deliver_if_gone=True)

    with pytest.raises(TimedOut):
        await bot.send_message(42, "chậm", read_timeout=0.05)
    [call] = await server.wait_for(1, chat_id=42)

    assert call.text == "chậm"


async def test_migrated_group_answers_with_the_new_chat_id(server: FakeBotApi, bot: Bot) -> None:
    server.migrate_chat(-500, -1001234)

    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-500, "chào nhóm")

    assert migrated.value.new_chat_id == -1001234


async def test_too_long_text_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "a" * 4097)


async def test_unknown_method_and_bad_token(server: FakeBotApi, client: httpx.AsyncClient) -> None:
    unknown = await client.post(f"/bot{TOKEN}/sendTelepathy", json={})
    bad_token = await client.post("/botnot-a-token/getMe")

    assert unknown.status_code == 404
    assert unknown.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert bad_token.status_code == 401
    assert bad_token.json()["description"] == "Unauthorized"
    with pytest.raises(InvalidToken):
        async with Bot("bad", base_url=f"{server.url}/bot"):
            pass


async def test_get_updates_conflicts_with_an_active_webhook(server: FakeBotApi, bot: Bot) -> None:
    await bot.set_webhook("https://loa.example/hook", secret_token="s3cret")

    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert server.webhook["url"] == "https://loa.example/hook"
    await bot.delete_webhook()

    assert await bot.get_updates(timeout=0) == ()


# ---------------------------------------------------------------------- bodies and extras


async def test_json_form_and_multipart_bodies(
    server: FakeBotApi, client: httpx.AsyncClient, bot: Bot
) -> None:
    as_json = await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 7, "text": "json"})
    as_form = await client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": "7", "text": "form"})
    document = await bot.send_document(7, b"a;b\n1;2\n", filename="bao-cao.csv", caption="Báo cáo")

    assert as_json.json()["result"]["text"] == "json"
    assert as_form.json()["result"]["chat"] == {"id": 7, "type": "private"}
    assert document.document is not None
    assert document.document.file_name == "bao-cao.csv"
    sent_file = server.sent_to(7, "sendDocument")[0].params["document"]
    assert sent_file["data"] == b"a;b\n1;2\n"


async def test_keep_alive_serves_many_requests_on_one_connection(
    server: FakeBotApi, client: httpx.AsyncClient
) -> None:
    for n in range(50):
        response = await client.post(
            f"/bot{TOKEN}/sendMessage", json={"chat_id": n, "text": f"tin {n}"}
        )
        assert response.status_code == 200

    assert server.stats.sends_accepted == 50
    assert server.stats.duplicates() == {}


async def test_wait_for_explains_a_timeout(server: FakeBotApi) -> None:
    with pytest.raises(TimeoutError, match="0 matching call"):
        await server.wait_for(1, chat_id=42, timeout=0.05)


async def test_post_update_to_a_webhook_sends_the_secret_header(server: FakeBotApi) -> None:
    received: list[Request] = []

    def receive(request: Request) -> Response:
        received.append(request)
        return json_response(200, {})

    hook = HttpServer(receive)
    await hook.start()
    try:
        update = server.message_update(42, "qua webhook")
        status = await server.post_update_to(
            f"http://127.0.0.1:{hook.port}/telegram", update, secret_token="s3cret-token"
        )
    finally:
        await hook.stop()

    assert status == 200
    assert received[0].headers["x-telegram-bot-api-secret-token"] == "s3cret-token"
    assert received[0].params()["message"]["text"] == "qua webhook"


# ---------------------------------------------------------------------- Zalo routes


async def test_zalo_send_message_and_its_2000_character_limit(
    server: FakeBotApi, client: httpx.AsyncClient
) -> None:
    base = f"/zalo/bot{TOKEN}"
    me = await client.post(f"{base}/getMe", json={})
    sent = await client.post(f"{base}/sendMessage", json={"chat_id": "abc123", "text": "Chào"})
    too_long = await client.post(
        f"{base}/sendMessage", json={"chat_id": "abc123", "text": "a" * 2001}
    )

    assert me.json()["result"]["account_type"] == "BASIC"
    assert sent.json()["ok"] is True
    assert isinstance(sent.json()["result"]["message_id"], str)
    assert too_long.json()["ok"] is False
    assert too_long.json()["error_code"] == 400
    assert [call.text for call in server.zalo.sent_to("abc123")] == ["Chào"]


async def test_zalo_get_updates_returns_one_update_or_408(
    server: FakeBotApi, client: httpx.AsyncClient
) -> None:
    base = f"/zalo/bot{TOKEN}"
    empty = await client.post(f"{base}/getUpdates", json={"timeout": "0.05"})
    server.zalo.push_message("abc123", "Xin chào")
    update = await client.post(f"{base}/getUpdates", json={"timeout": "30"})

    assert empty.json() == {"ok": False, "error_code": 408, "description": "Request timeout"}
    result = update.json()["result"]
    assert result["event_name"] == "message.text.received"
    assert result["message"]["text"] == "Xin chào"
    assert result["message"]["chat"] == {"id": "abc123", "chat_type": "PRIVATE"}


# ---------------------------------------------------------------------- separate process


async def test_separate_process_prints_ready_and_serves_stats() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fakes.botapi",
        "--port",
        "0",
        "--rate-limit",
        "30",
        "--forbidden-ratio",
        "0.02",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        assert line.startswith(b"READY http://127.0.0.1:")
        url = line.split()[1].decode()
        async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
            chat = next(c for c in range(100, 1000) if not is_blocked_by_ratio(c, 0.02))
            await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": chat, "text": "x"})
            stats: dict[str, Any] = (await http.get("/_fake/stats")).json()
            await http.post("/_fake/reset")
            after: dict[str, Any] = (await http.get("/_fake/stats")).json()
    finally:
        process.terminate()
        await process.wait()

    assert stats["sends_accepted"] == 1
    assert stats["per_chat_accepted"] == {str(chat): 1}
    assert after["sends_accepted"] == 0


# ---------------------------------------------------------------------- network guard


def test_network_guard_blocks_the_real_telegram(guard: NetworkGuard) -> None:
    with pytest.raises(NetworkAccessBlocked):
        httpx.get("https://api.telegram.org")

    assert guard.take_violations()  # taken, so the guard's own teardown stays quiet


def test_network_guard_lets_loopback_through() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("149.154.167.220")
    assert not is_loopback("api.telegram.org")


async def test_network_guard_blocks_asyncio_connections(guard: NetworkGuard) -> None:
    with pytest.raises(NetworkAccessBlocked):
        await asyncio.open_connection("10.1.2.3", 443)

    assert guard.take_violations() == [
        "network access blocked in tests: loop.create_connection to '10.1.2.3'"
    ]
