"""How long a ward's adoption steps take: `campaign new` from an .xlsx of N groups (read, check,
write), and one poster.

    .venv/bin/python -m benchmarks.adoption --groups 2000

RESULT fields: new_pack_s = `new_pack` wall time for the whole command (read both lists, write
and check the pack); read_s = reading the groups .xlsx alone; poster_pdf_s / poster_png_s = one
A4 poster rendered; pack_kb = the written pack's size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from bot.adoption.lists import read_list
from bot.adoption.new_pack import new_pack
from bot.adoption.poster import poster_links, render_poster
from messages.packs import PACKS_DIR, load_pack

ROOT = Path(__file__).resolve().parents[1]


def _groups_xlsx(path: Path, count: int) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["STT", "Tên tổ dân phố", "Người đầu mối"])
    for number in range(1, count + 1):
        sheet.append([number, f"Tổ dân phố {number}", f"Nguyễn Văn {number}"])
    book.save(path)
    return path


def main() -> None:
    """Run the benchmark and print one RESULT line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        groups = _groups_xlsx(Path(folder) / "groups.xlsx", args.groups)
        print(f"wrote {args.groups} groups; reading …", flush=True)
        started = time.perf_counter()
        read_list(groups, "groups")
        read_s = time.perf_counter() - started
        out = Path(folder) / "pack.toml"
        started = time.perf_counter()
        new_pack(
            locality="Phường Thử",
            agencies_file=ROOT / "examples" / "agencies.xlsx",
            groups_file=groups,
            template=PACKS_DIR / "ky-lua-2026.toml",
            out=out,
        )
        new_pack_s = time.perf_counter() - started
        pack_kb = out.stat().st_size / 1024
        pack = load_pack(str(out))
        links = poster_links(pack, 1, bot_username="loa_bot", zalo_oa_id="1234567890")
        timings = {}
        for fmt in ("pdf", "png"):
            render_poster(pack, 1, links, fmt)  # warm: fonts and caches
            started = time.perf_counter()
            render_poster(pack, 2, links, fmt)
            timings[fmt] = time.perf_counter() - started
    print(
        f"RESULT adoption groups={args.groups} new_pack_s={new_pack_s:.2f} read_s={read_s:.2f} "
        f"pack_kb={pack_kb:.0f} poster_pdf_s={timings['pdf']:.2f} poster_png_s={timings['png']:.2f}"
    )


if __name__ == "__main__":
    main()
