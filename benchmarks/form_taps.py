"""Form taps: a full report played as a chat — two activities, one media item, no product, the
budget, the required text — counting what the official does and what the bot sends.

The conversation runs in process on a SQLite file with the shipped pack (Kỳ Lừa 2025, the commune
form); nothing is sent anywhere. Buttons are pressed by their label, as a person would.

    python -m benchmarks.form_taps

RESULT fields: presses (buttons), typed (messages typed), actions (both), messages (the bot's),
longest (characters of the longest message that is not the summary), summary (its characters).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.app import build_loa
from bot.channels.base import Inbound, InboundKind, Outbound
from bot.clock import FakeClock
from bot.reporting.officials import create_invite
from bot.storage.db import Database
from messages.packs import load_pack

# (kind, value): «p» presses the button labelled value, «t» types value; «row» starts another
# row of that kind (pressing the kind on the «any other?» question if it offers it, else «Có»
# then the kind); «rest» leaves the optional questions at the end («Xong» if offered, else
# «Bỏ qua» on each).
SCRIPT: list[tuple[str, str]] = [
    ("t", "/baocao"),
    ("p", "Lễ phát động"),
    ("t", "2"),
    ("t", "40"),
    ("t", "60"),
    ("p", "Cấp xã (phường, xã)"),
    ("row", "Hội nghị/tọa đàm/đối thoại"),
    ("t", "1"),
    ("t", "20"),
    ("t", "30"),
    ("p", "Khu dân cư (khối phố, tổ dân phố, thôn)"),
    ("p", "Không"),
    ("p", "Loa truyền thanh"),
    ("t", "3"),
    ("t", "120"),
    ("t", "150"),
    ("p", "Cấp xã (phường, xã)"),
    ("p", "Không"),
    ("p", "Không có"),  # products
    ("t", "1,5 triệu"),
    ("p", "Bỏ qua"),
    ("t", "Người dân hưởng ứng tích cực."),
    ("rest", ""),
    ("p", "Gửi"),
]


class Official:
    """One official's chat with the bot, driven by the script."""

    def __init__(self, handle: object, clock: FakeClock) -> None:
        self.handle = handle
        self.clock = clock
        self.ids = itertools.count(1)
        self.last: list[Outbound] = []
        self.received: list[Outbound] = []

    async def _send(self, kind: InboundKind, **fields: object) -> None:
        inbound = Inbound(
            channel="telegram",
            chat_id="5001",
            update_id=str(next(self.ids)),
            kind=kind,
            received_at=self.clock.now(),
            **fields,  # type: ignore[arg-type]
        )
        self.last = await self.handle(inbound)  # type: ignore[operator]
        self.received += self.last

    async def type(self, text: str) -> None:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            await self._send(InboundKind.COMMAND, text=text, command=name, args=args)
        else:
            await self._send(InboundKind.TEXT, text=text)

    def offers(self, label: str) -> bool:
        return any(c.label == label for out in self.last for c in out.choices)

    async def press(self, label: str) -> None:
        for out in reversed(self.last):
            for choice in out.choices:
                if choice.label == label:
                    await self._send(InboundKind.CHOICE, choice_data=choice.data)
                    return
        raise SystemExit(
            f"no button {label!r} in {[c.label for o in self.last for c in o.choices]}"
        )


def _presses(person: Official, kind: str, value: str) -> list[str]:
    if kind == "p":
        return [value]
    if kind == "row":
        return [value] if person.offers(value) else ["Có", value]
    if kind == "rest":
        return ["Xong, xem tóm tắt"] if person.offers("Xong, xem tóm tắt") else ["Bỏ qua"]
    return []


async def play() -> tuple[int, int, list[Outbound]]:
    """Bind, play the script; returns (presses, typed, the bot's messages after binding)."""
    with tempfile.TemporaryDirectory(prefix="loa-taps-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'taps.db'}")
        await db.create_all()
        clock = FakeClock(datetime(2025, 12, 10, 2, 0, tzinfo=UTC))
        pack = load_pack("ky-lua-2025")
        loa = build_loa(db=db, pack=pack, clock=clock, channels={})
        agency = next(a for a in pack.agencies if a.reports)
        invite = await create_invite(
            db, pack=pack, role="official", agency_id=agency.id, now=clock.now()
        )
        person = Official(loa.conversation.handle, clock)
        await person.type(f"/start {invite.code}")
        person.received = []
        presses = typed = 0
        for kind, value in SCRIPT:
            labels = _presses(person, kind, value)
            for label in labels:
                await person.press(label)
                presses += 1
                if kind == "rest" and person.offers("Bỏ qua"):
                    labels.append("Bỏ qua")  # the next optional question
            if kind == "t":
                await person.type(value)
                typed += 1
        await db.dispose()
        if not any("Đã nhận báo cáo" in m.text for m in person.last):
            raise SystemExit("the report was not sent: " + person.last[-1].text[:200])
        return presses, typed, person.received


def main() -> None:
    """Play the script and print one RESULT line."""
    presses, typed, messages = asyncio.run(play())
    summaries = [m for m in messages if "Tóm tắt báo cáo" in m.text]
    others = [len(m.text) for m in messages if m not in summaries]
    print(
        f"RESULT form_taps presses={presses} typed={typed} actions={presses + typed} "
        f"messages={len(messages)} longest={max(others)} "
        f"summary={max((len(m.text) for m in summaries), default=0)}",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
