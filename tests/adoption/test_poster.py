"""`loa poster`: one A4 per residential group with a QR code per configured channel."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import segno
from PIL import Image

from bot.__main__ import main
from bot.adoption.files import AdoptionError
from bot.adoption.poster import (
    dark_runs,
    find_group,
    poster_file_name,
    poster_links,
    render_poster,
    slogan_for,
    write_posters,
)
from messages.packs import load_pack
from tests.support.pack import small_pack


def test_links_per_configured_channel() -> None:
    pack = small_pack()
    both = poster_links(pack, 12, bot_username="@loa_bot", zalo_oa_id="4318127315873451")
    assert [(link.channel, link.url) for link in both] == [
        ("Telegram", "https://t.me/loa_bot?start=g-khoi-pho-12"),
        ("Zalo", "https://zalo.me/4318127315873451"),
    ]
    assert [link.channel for link in poster_links(pack, 1, bot_username=None, zalo_oa_id="1")] == [
        "Zalo"
    ]
    with pytest.raises(AdoptionError, match="ZALO_OA_ID"):
        render_poster(pack, 1, poster_links(pack, 1, bot_username="", zalo_oa_id=""), "pdf")


def test_qr_runs_redraw_exactly_the_qr_matrix() -> None:
    matrix = segno.make("https://t.me/loa_bot?start=g-khoi-pho-47", error="m").matrix
    redrawn = []
    for runs, cells in zip(dark_runs(matrix), matrix, strict=True):
        row = [0] * len(cells)
        for start, width in runs:
            row[start : start + width] = [1] * width
        redrawn.append(row)
    assert redrawn == [list(cells) for cells in matrix]


def test_png_is_a4_and_pdf_embeds_a_vietnamese_font() -> None:
    pack = small_pack()
    links = poster_links(pack, 3, bot_username="loa_bot", zalo_oa_id=None)
    png = Image.open(io.BytesIO(render_poster(pack, 3, links, "png")))
    width, height = png.size
    assert width == 1240
    assert abs(height / width - 297 / 210) < 0.01
    pdf = render_poster(pack, 3, links, "pdf")
    assert pdf.startswith(b"%PDF")
    assert b"DejaVuSans" in pdf
    assert render_poster(pack, 3, links, "pdf") == pdf  # no timestamp: same input, same file


def test_groups_are_found_ignoring_accents_and_spaces_and_misses_are_helped() -> None:
    pack = load_pack("ky-lua-2026")
    assert find_group(pack, "khoi pho  12") == 12
    assert find_group(pack, "Khối phố 47") == 47
    with pytest.raises(AdoptionError) as missed:
        find_group(pack, "Khối phố 48")
    assert "Gần giống: «Khối phố 4»" in str(missed.value)
    assert "loa poster --list" in str(missed.value)
    assert slogan_for(pack, 1) != slogan_for(pack, 2)
    assert slogan_for(pack, 1) == pack.slogan_groups[0].slogans[0]


def test_all_groups_one_file_each(tmp_path: Path) -> None:
    pack = small_pack(groups=3)
    written = write_posters(
        pack, [1, 2, 3], tmp_path, "pdf", bot_username="loa_bot", zalo_oa_id="1234"
    )
    assert [p.name for p in written] == [
        "poster-001-khoi-pho-1.pdf",
        "poster-002-khoi-pho-2.pdf",
        "poster-003-khoi-pho-3.pdf",
    ]
    assert poster_file_name(7, "Tổ dân phố Đồng Tâm", "png") == "poster-007-to-dan-pho-dong-tam.png"
    assert sorted(tmp_path.iterdir()) == written  # no temporary file left behind


def test_poster_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOA_CAMPAIGN", "ky-lua-2026")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("ZALO_OA_ID", "")
    assert main(["poster", "--group", "Khối phố 12"]) == 2
    assert "TELEGRAM_BOT_USERNAME" in capsys.readouterr().err
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "loa_kylua_bot")
    out = tmp_path / "in"
    assert main(["poster", "--group", "khoi pho 12", "--format", "png", "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["poster-012-khoi-pho-12.png"]
    assert main(["poster", "--list"]) == 0
    assert "  47  Khối phố 47" in capsys.readouterr().out
