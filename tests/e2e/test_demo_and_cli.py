"""`loa demo` runs offline end to end, and the CLI commands answer as documented."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from bot.demo import run_demo
from messages import t

ROOT = Path(__file__).resolve().parents[2]


async def test_demo_prints_the_whole_story(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    files = tmp_path / "demo-files"
    assert await run_demo(days=2, files_dir=files) == 0
    out = capsys.readouterr().out
    for expected in (
        "👤 Lan: /start",
        "Đã ghi nhận: Khối phố 12.",
        "1. Chia sẻ việc nhà, gia đình hạnh phúc.",
        "• 111 – Tổng đài quốc gia bảo vệ trẻ em",
        "I can only read text messages.",
        "Đã xóa toàn bộ dữ liệu của bạn.",
        "📣 Tháng hành động · Ngày 3/31",
        "📣 Action Month · Day 4/31",
        "👤 Hoa: (bấm «Quan tâm» trang Zalo OA của phường)",  # the Zalo OA part
        "   [Tiếng Việt] [English]",
        "   [Nhận tiếp tin ngày mai]",
        "🤖 Loa: Cảm ơn bạn! Ngày mai bạn sẽ nhận tin tiếp.",
        "Mã mời này không dùng được",
        "Số không được âm.",
        "Đã nhận báo cáo của «Trạm y tế phường»",
        "52/53 đơn vị chưa gửi",  # the focal office owes no report
        "• Khối phố: 47/47 chưa gửi",
        # the coordinator: a broadcast to one group, the board, a reminder, the export
        "Người nhận: Người dân theo khu dân cư: Khối phố 12 — tổng",
        "📤 Đang gửi thông báo #1 tới 1 người.",
        "✅ Thông báo #1 xong: đã gửi 1/1",
        "Phải gửi 53 · đã gửi 1 (đúng hạn 1, muộn 0) · chưa gửi 52",
        "Đã nhắc 1 đơn vị (1 người nhận).",
        "phiên bản\n        2, đúng hạn",  # the amended report
        "nộp muộn (hạn trước ngày 18/12/2025)",  # the late one
        "(2 đơn vị đã gửi)",
        f"thư mục {files}",
        "Lệnh /tinhhinh chỉ dành cho cán bộ điều phối",
    ):
        assert expected in out, expected
    names = sorted(path.suffix for path in files.iterdir())
    assert names == [".csv", ".docx", ".png", ".xlsx"]


def loa(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "LOA_WEB_PORT": "0",  # `loa run`'s web server on any free port: 8080 may be taken here
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_campaign_list_and_check() -> None:
    listed = loa("campaign", "list")
    assert listed.returncode == 0
    assert "ky-lua-2025" in listed.stdout
    assert "tam-duong-2024" in listed.stdout
    ok = loa("campaign", "check", "ky-lua-2025")
    assert ok.returncode == 0, ok.stderr
    bad = loa("campaign", "check", str(ROOT / "tests/fixtures/packs/window-backwards.toml"))
    assert bad.returncode == 1
    assert "window-backwards.toml:" in bad.stdout
    missing = loa("campaign", "check", "no-such-pack")
    assert missing.returncode == 1


def test_run_refuses_a_bad_pack(tmp_path: Path) -> None:
    bad = ROOT / "tests/fixtures/packs/delivery-hour.toml"
    result = loa(
        "run",
        env={"TELEGRAM_BOT_TOKEN": "123456:abc-DEF", "LOA_CAMPAIGN": str(bad)},
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "cannot be used" in result.stderr
    assert "delivery.hour" in result.stderr
    assert "123456:abc-DEF" not in result.stderr + result.stdout


def test_db_upgrade_invite_and_status(tmp_path: Path) -> None:
    # The 2025 pack is over whatever today is: --allow-ended keeps this test date-independent
    # (tests/adoption/test_lifecycle.py covers the refusal with an injected clock).
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "LOA_CAMPAIGN": "ky-lua-2025",
        "TELEGRAM_BOT_USERNAME": "loa_test_bot",
    }
    upgraded = loa("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    refused = loa("invite", "agency", "Tram y te phuong", env=env, cwd=tmp_path)
    assert refused.returncode != 0
    assert "--allow-ended" in refused.stderr
    ended = "--allow-ended"
    invite = loa("invite", "agency", "Tram y te phuong", ended, env=env, cwd=tmp_path)
    assert invite.returncode == 0, invite.stderr
    assert "Trạm y tế phường" in invite.stdout
    assert "https://t.me/loa_test_bot?start=" in invite.stdout
    unknown = loa("invite", "agency", "Bộ Quốc phòng", ended, env=env, cwd=tmp_path)
    assert unknown.returncode == 2
    coordinator = loa("invite", "coordinator", ended, env=env, cwd=tmp_path)
    assert coordinator.returncode == 0, coordinator.stderr
    status = loa("status", env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "inbox: 0 waiting, 0 parked" in status.stdout


def test_invite_and_status_speak_of_zalo_when_it_is_configured(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'zalo.db'}",
        "ZALO_BOT_TOKEN": "7000000002:zalo-cli-token",
    }
    invite = loa("invite", "coordinator", env=env, cwd=tmp_path)
    assert invite.returncode == 0, invite.stderr
    assert "Zalo — nhắn cho bot Zalo của Loa: /start " in invite.stdout
    assert "t.me" not in invite.stdout  # no Telegram bot configured
    status = loa("status", env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "Zalo people: 0 / 50" in status.stdout
    assert "Zalo messages in " in status.stdout
    assert "zalo-cli-token" not in status.stdout + invite.stdout


def test_the_fakes_are_left_out_of_an_install() -> None:
    # setuptools' `packages.find` matches each dotted package name against `include` (fnmatch).
    with (ROOT / "pyproject.toml").open("rb") as fh:
        include = tomllib.load(fh)["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in ROOT.glob("*/**/__init__.py")
        if ".venv" not in init.parts
    }
    installed = {name for name in packages if any(fnmatch(name, p) for p in include)}
    assert {"bot", "bot.reporting", "messages", "scheduler"} <= installed
    assert "fakes" in packages
    assert not [name for name in installed if name.split(".")[0] in {"fakes", "tests"}]


def test_demo_outside_the_checkout_says_it_needs_the_checkout(tmp_path: Path) -> None:
    # Run from elsewhere, `bot` is importable (installed) but the top-level `fakes` is not.
    result = loa("demo", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip().splitlines() == [
        "loa demo cần mã nguồn đầy đủ (các máy chủ giả nằm trong thư mục fakes/): hãy chạy "
        "«python3 dev.py demo» trong bản sao của kho mã."
    ]


def test_loa_chat_keeps_out_of_the_bots_database(tmp_path: Path) -> None:
    """`loa chat` runs on a scratch database unless told otherwise, so `loa run` never finds a
    «console» subscriber it cannot send to."""
    real = tmp_path / "loa.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{real}", "LOA_CAMPAIGN": "ky-lua-2025"}
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env}
    chatted = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=tmp_path,
        env=full_env,
        input="/start\n1\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert chatted.returncode == 0, chatted.stderr
    assert "Bạn muốn đọc tin bằng ngôn ngữ nào?" in chatted.stdout
    assert not real.exists()
    chosen = tmp_path / "chosen.db"
    told = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--database", f"sqlite+aiosqlite:///{chosen}"],
        cwd=tmp_path,
        env=full_env,
        input="/start\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert told.returncode == 0, told.stderr
    assert chosen.exists()
    assert not real.exists()


def test_board_and_export_on_an_empty_database(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    board = loa("board", "--campaign", "ky-lua-2025", env=env, cwd=tmp_path)
    assert board.returncode == 0, board.stderr
    assert "Phải gửi 53 · đã gửi 0 (đúng hạn 0, muộn 0) · chưa gửi 53" in board.stdout
    assert "• Khối phố: 47/47 chưa gửi" in board.stdout
    out = tmp_path / "bao-cao.xlsx"
    export = loa(
        "export", "--campaign", "ky-lua-2025", "--format", "xlsx", "--out", str(out),
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert out.read_bytes().startswith(b"PK")  # a zip container, as every .xlsx
    unknown = loa(
        "export", "--format", "png", "--out", str(tmp_path / "x.png"), "--deadline", "khong-co",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert unknown.returncode == 2
    assert "Không có hạn báo cáo «khong-co»" in unknown.stderr
    assert not (tmp_path / "x.png").exists()


def test_broadcast_and_audit_from_the_office_pc(tmp_path: Path) -> None:
    db_file = tmp_path / "cli.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{db_file}"}
    assert loa("invite", "coordinator", env=env, cwd=tmp_path).returncode == 0
    text = tmp_path / "tin.txt"
    text.write_text("   \n", encoding="utf-8")
    empty = loa("broadcast", "--audience", "residents", "--text-file", str(text), env=env,
                cwd=tmp_path)  # fmt: skip
    assert empty.returncode == 2
    assert "chưa có nội dung" in empty.stderr
    text.write_text("Mời bà con dự lễ phát động.", encoding="utf-8")
    nobody = loa("broadcast", "--audience", "residents", "--text-file", str(text), env=env,
                 cwd=tmp_path)  # fmt: skip
    assert nobody.returncode == 2
    assert "Không có ai nhận" in nobody.stderr
    with sqlite3.connect(db_file) as conn:
        conn.executemany(
            "INSERT INTO subscriber (channel, chat_id, lang, group_code, status, posts_muted,"
            " created_at, updated_at) VALUES (?, ?, 'vi', 'Khối phố 1', ?, 0, ?, ?)",
            [("telegram", str(n), "active" if n < 3 else "stopped", "2025-12-01 00:00:00",
              "2025-12-01 00:00:00") for n in range(4)],
        )  # fmt: skip
    past = loa("broadcast", "--audience", "residents", "--text-file", str(text), "--at",
               "01/01 00:00", env=env, cwd=tmp_path)  # fmt: skip
    assert past.returncode == 2
    assert "đã qua" in past.stderr
    sent = loa("broadcast", "--audience", "groups:Khối phố 1", "--text-file", str(text),
               env=env, cwd=tmp_path)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == t(
        "coordinators.cli.queued", "vi", id=1, people=3, channels="Telegram 3"
    )
    audit = loa("audit", env=env, cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    lines = audit.stdout.splitlines()
    assert "invite" in lines[0]
    assert "coordinator" in lines[0]
    assert "broadcast" in lines[-1]
    assert "#1 groups 3" in lines[-1]  # the refused tries left no broadcast behind
    assert "Mời bà con" not in audit.stdout
