"""`loa demo`: the real bot against a local fake Bot API server, printed as a transcript.

Nothing leaves 127.0.0.1: python-telegram-bot polls the fake server, replies go through the
outbox, the dispatcher and the lean sender to the same fake server, which records them. The
campaign clock is simulated so a few days of daily posts pass in seconds.
"""

from __future__ import annotations

import asyncio
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from bot.app import Loa, build_loa, prepare_database
from bot.campaign.events import sweep_due
from bot.channels.base import Inbound, Outbound
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.clock import VN_TZ, FakeClock, SystemClock
from bot.coordinators.filestore import FileStore
from bot.delivery.limiter import ChannelLimits
from bot.demo_oa import play_oa
from bot.domain.campaign import CampaignPack
from bot.reporting.chat import SPENT_BUTTONS
from bot.reporting.officials import create_invite
from bot.reporting.reminders import sweep_reminders
from bot.storage.db import Database
from fakes.botapi import FakeBotApi
from fakes.calls import SentCall
from messages import t
from messages.packs import load_pack

DEMO_TOKEN = "7000000001:loa-demo-token"
SENDS = ("sendMessage", "sendDocument", "sendPhoto")
# How the demo's officials finish a form: send when it may, else the first of these answers.
ANSWERS = (
    "Gửi", "Giữ nguyên", "Cấp xã (phường, xã)", "Loa truyền thanh", "Không có", "Không",
    "Bỏ qua", "Xong",
)  # fmt: skip
WIDTH = 78


@dataclass(frozen=True)
class Person:
    """A demo resident."""

    name: str
    chat_id: int


class Transcript:
    """Prints the conversation as it happens."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)

    def heading(self, text: str) -> None:
        self.emit()
        self.emit("=" * WIDTH)
        self.emit(text)
        self.emit("=" * WIDTH)

    def person(self, who: Person, text: str) -> None:
        self.emit()
        self.emit(f"👤 {who.name}: {text}")

    def bot(self, call: SentCall) -> None:
        body = call.text or ""
        if call.method in ("sendDocument", "sendPhoto"):
            body = f"📎 {body}"
        self.message(body, [label for label, _ in _buttons(call)])

    def message(self, body: str, buttons: Sequence[str]) -> None:
        """One message from Loa, wrapped, its buttons on a line below."""
        lines = [
            wrapped
            for line in body.split("\n")
            for wrapped in (textwrap.wrap(line, WIDTH - 8) or [""])
        ]
        self.emit("🤖 Loa: " + "\n        ".join(lines))
        if buttons:
            self.emit("   " + " ".join(f"[{label}]" for label in buttons))


def _buttons(call: SentCall) -> list[tuple[str, str]]:
    markup: Any = call.params.get("reply_markup") or {}
    if isinstance(markup, str):
        import json

        markup = json.loads(markup)
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


class DemoDriver:
    """Pushes updates into the fake server and waits for exactly the replies they produce."""

    def __init__(self, server: FakeBotApi, transcript: Transcript) -> None:
        self.server = server
        self.transcript = transcript
        self._handled: asyncio.Queue[int] = asyncio.Queue()

    async def turned(self, replies: list[Outbound]) -> None:
        """Told by the inbox after each turn: how many replies it queued."""
        await self._handled.put(len(replies))

    def wrap(self, handle: Any) -> Any:
        """Wrap a direct handler (no inbox) to learn how many replies each update produced."""

        async def counted(inbound: Inbound) -> list[Outbound]:
            replies: list[Outbound] = await handle(inbound)
            await self.turned(replies)
            return replies

        return counted

    async def show_replies(self, who: Person, before: int) -> None:
        """Wait for the bot's answer to the next update handled (however it was pushed) and
        write the messages `who` got after the first `before` ones into the transcript."""
        count = await asyncio.wait_for(self._handled.get(), timeout=10)
        await self.server.wait_for(lambda _: len(self.sent(who)) >= before + count, timeout=60)
        for call in self.sent(who)[before : before + count]:
            self.transcript.bot(call)

    def sent(self, who: Person) -> list[SentCall]:
        """Messages and files sent to the person (not edits of earlier messages)."""
        return [c for c in self.server.sent_to(who.chat_id) if c.method in SENDS]

    async def say(self, who: Person, text: str) -> None:
        """The person types `text` (a command if it starts with /)."""
        before = len(self.sent(who))
        self.transcript.person(who, text)
        if text.startswith("/"):
            self.server.push_command(who.chat_id, text, first_name=who.name)
        else:
            self.server.push_message(who.chat_id, text, first_name=who.name)
        await self.show_replies(who, before)

    async def press(self, who: Person, label: str) -> None:
        """The person presses the button `label` on the bot's latest message that has it."""
        sent = self.sent(who)
        for call in reversed(sent):
            for text, data in _buttons(call):
                if text == label:
                    self.transcript.person(who, t("demo.pressed", "vi", label=label))
                    assert call.message_id is not None
                    self.server.push_callback(
                        who.chat_id, data, message_id=int(call.message_id), first_name=who.name
                    )
                    await self.show_replies(who, len(sent))
                    return
        raise RuntimeError(f"no button {label!r} for {who.name}")

    async def finish_form(self, who: Person) -> None:
        """Answer the form's remaining questions with «none» / «skip» until «Gửi» sends it."""
        for _ in range(20):
            last = self.sent(who)[-1]
            labels = [label for label, _ in _buttons(last)]
            for wanted in ANSWERS:
                if wanted in labels:
                    await self.press(who, wanted)
                    break
            else:
                required = "bắt buộc" in (last.text or "")
                await self.say(who, "Đã phát thanh trên loa phường." if required else "bỏ qua")
            if (self.sent(who)[-1].text or "").startswith("Đã nhận báo cáo"):
                return
        raise RuntimeError(f"the form of {who.name} did not end")

    async def sticker(self, who: Person) -> None:
        """The person sends a sticker."""
        before = len(self.sent(who))
        self.transcript.person(who, t("demo.sticker", "vi"))
        self.server.push_sticker(who.chat_id, first_name=who.name)
        await self.show_replies(who, before)

    async def photo(self, who: Person) -> None:
        """The person sends a photo (of their event, say)."""
        before = len(self.sent(who))
        self.transcript.person(who, t("demo.photo", "vi"))
        self.server.push_photo(who.chat_id, first_name=who.name)
        await self.show_replies(who, before)


async def play_residents(driver: DemoDriver) -> None:
    """Three residents through the features of part 1."""
    lan, minh, hoa = Person("Lan", 1001), Person("Minh", 1002), Person("Hoa", 1003)
    await driver.say(lan, "/start")
    await driver.press(lan, "Tiếng Việt")
    await driver.press(lan, "Trang sau ›")
    await driver.press(lan, "Khối phố 12")
    await driver.say(lan, "/khauhieu")
    await driver.press(lan, "Nhóm thông điệp về Huy động sự tham gia của nam giới và xã hội")
    await driver.say(lan, "/trogiup")
    await driver.say(minh, "/start")
    await driver.press(minh, "English")
    await driver.press(minh, "Prefer not to say")
    await driver.sticker(minh)
    await driver.say(minh, "hello, is anyone there?")
    await driver.say(minh, "/huy")
    await driver.say(minh, "/batdau")
    await driver.say(hoa, "/start")
    await driver.say(hoa, "1")
    await driver.say(hoa, "khoi pho 3")
    await driver.say(hoa, "/xoadulieu")
    await driver.press(hoa, "Xóa dữ liệu")


async def play_posts(loa: Loa, clock: FakeClock, driver: DemoDriver, days: int) -> None:
    """Move the simulated clock to 07:30 of the next `days` days and show the posts."""
    pack = loa.pack
    people = {1001: "Lan", 1002: "Minh"}
    start_day = clock.now().astimezone(VN_TZ).date() + timedelta(days=1)
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        clock.set(datetime.combine(day, time(7, 30), tzinfo=VN_TZ))
        before = {chat: len(driver.server.sent_to(chat, "sendMessage")) for chat in people}
        result = await sweep_due(loa.db, pack, now=clock.now())
        loa.dispatcher.notify()
        driver.transcript.emit()
        driver.transcript.emit(
            "🕖 " + t("demo.day", "vi", date=f"{day:%d/%m/%Y}", time="07:30", count=result.enqueued)
        )
        for chat, name in people.items():
            calls = await driver.server.wait_for(
                before[chat] + 1, chat_id=chat, method="sendMessage", timeout=10
            )
            driver.transcript.emit(f"   → {name}:")
            driver.transcript.bot(calls[-1])


async def _remind_at(
    loa: Loa, clock: FakeClock, driver: DemoDriver, when: datetime, people: Sequence[Person]
) -> None:
    """Move the clock, sweep the reminders, and show what each person received."""
    clock.set(when)
    before = {p.chat_id: len(driver.server.sent_to(p.chat_id, "sendMessage")) for p in people}
    result = await sweep_reminders(loa.db, loa.pack, now=clock.now())
    loa.dispatcher.notify()
    local = when.astimezone(VN_TZ)
    count = result.reminders + result.escalations
    driver.transcript.emit()
    driver.transcript.emit(
        t("demo.clock", "vi", date=f"{local:%d/%m/%Y}", time=f"{local:%H:%M}", count=count)
    )
    if count:
        await driver.server.wait_for(
            lambda _: (
                sum(len(driver.server.sent_to(p.chat_id, "sendMessage")) for p in people)
                >= sum(before.values()) + count
            ),
            timeout=10,
        )
    for person in people:
        for call in driver.server.sent_to(person.chat_id, "sendMessage")[before[person.chat_id] :]:
            driver.transcript.emit(f"   → {person.name}:")
            driver.transcript.bot(call)


async def play_officials(
    loa: Loa, clock: FakeClock, driver: DemoDriver
) -> tuple[Person, Person, Person]:
    """Two officials bind, get reminded, one reports; the coordinator sees who is missing."""
    pack = loa.pack
    deadline = pack.deadlines[0]
    thu, hung, chi = (
        Person("Thu (Trạm y tế)", 3001),
        Person("Hùng (Công an)", 3002),
        Person("Chi (điều phối viên)", 3003),
    )
    clock.set(datetime.combine(deadline.due - timedelta(days=5), time(9, 0), tzinfo=VN_TZ))
    for person, agency in ((thu, "tram-y-te"), (hung, "cong-an")):
        invite = await create_invite(
            loa.db, pack=pack, role="official", agency_id=agency, now=clock.now()
        )
        driver.transcript.emit()
        driver.transcript.emit(t("demo.invite", "vi", agency=agency, code=invite.code))
        await driver.say(person, f"/start {invite.code}")
    invite = await create_invite(
        loa.db, pack=pack, role="coordinator", agency_id=None, now=clock.now()
    )
    driver.transcript.emit()
    driver.transcript.emit(t("demo.invite_coordinator", "vi", code=invite.code))
    await driver.say(chi, f"/start {invite.code}")
    await driver.say(hung, "/start SAIMA12345")  # a wrong code: refused, says nothing more

    remind = (deadline.due - timedelta(days=3), time(8, 0))
    await _remind_at(loa, clock, driver, datetime.combine(*remind, tzinfo=VN_TZ), (thu, hung, chi))

    clock.set(datetime.combine(deadline.due - timedelta(days=2), time(10, 0), tzinfo=VN_TZ))
    await driver.say(thu, "/baocao")
    await driver.press(thu, "Lễ phát động")
    for answer in ("1", "40", "65"):
        await driver.say(thu, answer)
    await driver.press(thu, "Cấp xã (phường, xã)")
    await driver.press(thu, "Không")
    await driver.press(thu, "Loa truyền thanh")
    await driver.say(thu, "-3")  # refused: not negative
    for answer in ("12", "1.200", "1,5 nghìn"):
        await driver.say(thu, answer)
    await driver.press(thu, "Khu dân cư (khối phố, tổ dân phố, thôn)")
    await driver.press(thu, "Không")
    await driver.press(thu, "Không có")
    await driver.say(thu, "2 tr")
    await driver.say(thu, "bỏ qua")
    await driver.say(thu, "Người dân hưởng ứng tích cực; nhiều nam giới tham gia buổi nói chuyện.")
    await driver.say(thu, "bỏ qua")
    await driver.say(thu, "bỏ qua")
    await driver.press(thu, "Gửi")
    await driver.say(thu, "/baocaocuatoi")
    await driver.say(thu, "/nhanh truyenthong 3 120 150")
    await driver.press(thu, "Có")  # open an amendment with this row
    await driver.finish_form(thu)  # the amended report: version 2

    for days_before in (1, 0):
        when = datetime.combine(
            deadline.due - timedelta(days=days_before), time(8, 0), tzinfo=VN_TZ
        )
        await _remind_at(loa, clock, driver, when, (thu, hung, chi))
    return thu, hung, chi


async def play_coordinator(
    loa: Loa, clock: FakeClock, driver: DemoDriver, people: Sequence[Person], files_dir: Path
) -> None:
    """The coordinator broadcasts to one residential group, looks at the board, reminds the
    missing, sees a late report arrive, and exports the summed report's files."""
    thu, hung, chi = people
    lan = Person("Lan", 1001)
    server, transcript = driver.server, driver.transcript
    deadline = loa.pack.deadlines[0]
    clock.set(datetime.combine(deadline.due - timedelta(days=1), time(15, 0), tzinfo=VN_TZ))
    await driver.say(chi, "/thongbao")
    await driver.say(chi, ANNOUNCEMENT)
    await driver.press(chi, t("coordinators.broadcast.next_button", "vi"))
    await driver.press(chi, t("coordinators.broadcast.audience.groups", "vi"))
    await driver.press(chi, "Khối phố 12")
    await driver.press(chi, t("coordinators.broadcast.done_button", "vi"))
    lan_before = len(server.sent_to(lan.chat_id, "sendMessage"))
    chi_before = len(server.sent_to(chi.chat_id, "sendMessage"))
    await driver.press(chi, t("coordinators.broadcast.go_button", "vi"))
    calls = await server.wait_for(lan_before + 1, chat_id=lan.chat_id, method="sendMessage")
    transcript.emit(f"   → {lan.name}:")
    transcript.bot(calls[-1])
    # the progress message, then its edits in place until the broadcast is done
    await loa.progress.tick()
    calls = await server.wait_for(chi_before + 2, chat_id=chi.chat_id, method="sendMessage")
    transcript.bot(calls[-1])
    for _ in range(100):
        await loa.progress.tick()
        edits = server.sent_to(chi.chat_id, "editMessageText")
        if edits and (edits[-1].text or "").startswith("✅"):
            transcript.emit(t("coordinators.demo.edited", "vi"))
            transcript.bot(edits[-1])
            break
        await asyncio.sleep(0.1)
    await driver.say(chi, "/tinhhinh")
    hung_before = len(server.sent_to(hung.chat_id, "sendMessage"))
    button = next(label for label, _ in _buttons(driver.sent(chi)[-1]) if label.startswith("🔔"))
    await driver.press(chi, button)
    calls = await server.wait_for(hung_before + 1, chat_id=hung.chat_id, method="sendMessage")
    transcript.emit(f"   → {hung.name}:")
    transcript.bot(calls[-1])
    clock.set(datetime.combine(deadline.due + timedelta(days=1), time(9, 0), tzinfo=VN_TZ))
    await driver.say(hung, "/nhanh truyenthong 2 30 40")  # a late report, in one line
    await driver.finish_form(hung)
    await driver.say(chi, "/lichsu")
    before = len(server.sent_to(chi.chat_id))
    await driver.say(chi, "/xuatbaocao")
    await loa.coordinators.wait_idle()
    await server.wait_for(
        lambda _: len(_file_calls(server.sent_to(chi.chat_id)[before:])) == 4, timeout=60
    )
    for call in _file_calls(server.sent_to(chi.chat_id)[before:]):
        transcript.bot(call)
    await asyncio.to_thread(files_dir.mkdir, parents=True, exist_ok=True)
    transcript.emit(t("coordinators.demo.files", "vi", path=files_dir))
    for call in _file_calls(server.sent_to(chi.chat_id)[before:]):
        upload = call.params.get("document") or call.params.get("photo") or {}
        await asyncio.to_thread((files_dir / upload["filename"]).write_bytes, upload["data"])
        transcript.emit(f"   {upload['filename']} ({upload['size']:,} B)")
    await driver.say(thu, "/tinhhinh")  # an official: refused (and audited)


ANNOUNCEMENT = (
    "Tối thứ Bảy, 19:30, nhà văn hóa Khối phố 12: nói chuyện chuyên đề «Chia sẻ việc nhà, "
    "gia đình hạnh phúc». Mời cả nhà cùng đến!"
)


def _file_calls(calls: Sequence[SentCall]) -> list[SentCall]:
    return [c for c in calls if c.method in ("sendDocument", "sendPhoto")]


async def run_demo(
    *, days: int = 3, pack_name: str = "ky-lua-2025", files_dir: Path | None = None
) -> int:
    """Run the whole demo; returns a process exit code. The exported files land in
    `files_dir` (default: a new folder ./loa-demo-files-<time>), which the transcript names."""
    pack: CampaignPack = load_pack(pack_name)
    stamp = SystemClock().now().astimezone(VN_TZ)
    files_dir = files_dir or Path(f"loa-demo-files-{stamp:%Y%m%d-%H%M%S}")
    transcript = Transcript()
    with tempfile.TemporaryDirectory(prefix="loa-demo-") as tmp:
        db_path = Path(tmp) / "demo.db"
        db = Database(f"sqlite+aiosqlite:///{db_path}")
        # Day 2 of the window, mid-morning Vietnam time: residents are subscribing.
        clock = FakeClock(
            datetime.combine(pack.campaign.start + timedelta(days=1), time(9, 0), tzinfo=VN_TZ)
        )
        async with FakeBotApi(clock=SystemClock()) as server:
            base_url = f"{server.url}/bot"
            await prepare_database(db, pack, clock)
            sender = TelegramSender(DEMO_TOKEN, base_url)
            limits = {"telegram": ChannelLimits(per_second=200.0, per_chat_per_second=50.0)}
            driver = DemoDriver(server, transcript)
            loa = build_loa(
                db=db,
                pack=pack,
                clock=clock,
                channels={"telegram": sender},
                limits=limits,
                after_turn=driver.turned,
                files=FileStore(Path(tmp) / "files"),
            )
            receiver = TelegramReceiver(
                token=DEMO_TOKEN,
                base_url=base_url,
                accept=loa.inbox.accept_many,
                clock=clock,
                spent_buttons=SPENT_BUTTONS,
            )
            info = pack.campaign
            window = f"{info.start:%d/%m/%Y}–{info.end:%d/%m/%Y}"
            transcript.heading(t("demo.title", "vi", locality=info.locality, window=window))
            transcript.emit(t("demo.note", "vi", url=server.url))
            await loa.inbox.start()
            await loa.dispatcher.start()
            await receiver.start_polling(poll_seconds=1)
            try:
                transcript.heading(t("demo.residents", "vi"))
                await play_residents(driver)
                transcript.heading(t("demo.posts", "vi", days=days))
                await play_posts(loa, clock, driver, days)
                transcript.heading(t("demo.oa", "vi"))
                await loa.inbox.stop()  # the OA part runs its own core (and inbox) on this db
                await play_oa(db, pack, clock, transcript.emit, transcript.message)
                await loa.inbox.start()
                if pack.deadlines and pack.report_form is not None:
                    transcript.heading(t("demo.officials", "vi"))
                    people = await play_officials(loa, clock, driver)
                    transcript.heading(t("coordinators.demo.heading", "vi"))
                    await play_coordinator(loa, clock, driver, people, files_dir)
            finally:
                await receiver.stop()
                await loa.inbox.stop()
                await loa.dispatcher.stop()
                await sender.aclose()
                await db.dispose()
        transcript.emit()
        transcript.emit(t("demo.done", "vi", path=t("demo.deleted_dir", "vi", path=tmp)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - `loa demo` is the entry
    """Run the demo from `python -m bot.demo`."""
    return asyncio.run(run_demo())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
