"""The summed report's files, read back (openpyxl, python-docx, csv): every cell and every total
equals what agencies submitted through the reporting service (latest version each)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from docx import Document
from docx.shared import Mm, Pt
from openpyxl import load_workbook

from bot.clock import VN_TZ, FakeClock
from bot.coordinators.export.chart import chart_data
from bot.coordinators.export.files import FORMATS, export_report
from bot.coordinators.export.summary import NoDeadline, pick_deadline, summarise
from bot.coordinators.export.xlsx import DATE_FORMAT, NUMBER_FORMAT
from bot.domain.campaign import CampaignPack
from bot.domain.forms import Value
from bot.storage.db import Database
from tests.support.coordinators import BEFORE, TABLES, Submitted, submit_many
from tests.support.reporting import bound_chat, fill_minimal_report, reporting_pack

NOW = datetime(2025, 12, 20, 3, 0, tzinfo=UTC)  # after the deadline
SHEETS = ["1. Hoạt động", "2. Nội dung", "3. Sản phẩm", "Kinh phí", "Tình hình nộp"]


def choice_label(pack: CampaignPack, table: str, field: str, value: Value) -> str:
    """The label the files must show for a stored choice id."""
    assert pack.report_form is not None
    section = next(s for s in pack.report_form.sections if s.id == table)
    choices = next(f for f in section.fields if f.id == field).choices
    return next(c.label for c in choices if c.id == value)


def expected_rows(pack: CampaignPack, done: Submitted, table: str) -> list[list[object]]:
    """Agency, item, count, men, women, level of every row sent, in the files' order."""
    count = "sessions" if table == "activities" else "quantity"
    return [
        [
            name,
            choice_label(pack, table, "kind", row["kind"]),
            row[count],
            row["male"],
            row["female"],
            choice_label(pack, table, "level", row["level"]),
        ]
        for name, data in done.latest(pack)
        for row in data.tables.get(table, [])
    ]


def digits(text: str) -> int:
    """«1.500.000» → 1500000."""
    return int(text.replace(".", ""))


def vn(n: int) -> str:
    """1500000 → «1.500.000»."""
    return f"{n:,}".replace(",", ".")


@pytest.fixture
def pack() -> CampaignPack:
    return reporting_pack(groups=12)


async def test_xlsx_cells_and_totals_equal_what_was_submitted(
    db: Database, pack: CampaignPack
) -> None:
    done = await submit_many(db, pack, seed=7)
    assert any(len(v) == 2 for v in done.versions.values())  # an amendment: v2 counts
    file = await export_report(db, pack, "xlsx", now=NOW)
    wb = load_workbook(io.BytesIO(file.content))
    assert wb.sheetnames == SHEETS
    for index, table in enumerate(TABLES):
        ws = wb[SHEETS[index]]
        rows = expected_rows(pack, done, table)
        for offset, want in enumerate(rows):
            cells = [c.value for c in ws[3 + offset]]
            assert cells[0] == offset + 1
            assert cells[1:] == want
            for cell in ws[3 + offset][3:6]:
                assert cell.number_format == NUMBER_FORMAT
        total = [c.value for c in ws[3 + len(rows)]]
        assert total[1] == "Tổng cộng"
        assert tuple(total[3:6]) == done.sums(pack, table)
        assert ws.max_row == 3 + len(rows)
    budget = wb["Kinh phí"]
    latest = done.latest(pack)
    for offset, (name, data) in enumerate(latest):
        cells = [c.value for c in budget[3 + offset]]
        wanted = [data.values["budget"].get(k) or 0 for k in ("state_budget", "mobilised")]
        assert cells == [offset + 1, name, *wanted]
    assert tuple(c.value for c in budget[3 + len(latest)][2:4]) == done.budget(pack)


async def test_xlsx_who_reported_when(db: Database, pack: CampaignPack) -> None:
    done = await submit_many(db, pack, seed=3, late=2)
    file = await export_report(db, pack, "xlsx", now=NOW)
    ws = load_workbook(io.BytesIO(file.content))["Tình hình nộp"]
    listed = {}
    for row in ws.iter_rows(min_row=3, values_only=True):
        if isinstance(row[0], int):
            listed[row[1]] = row
    names = {a.id: a.name for a in pack.agencies}
    expected = [a for a in pack.agencies if a.reports]
    assert set(listed) == {a.name for a in expected}  # the focal office is not listed
    for agency in expected:
        row = listed[names[agency.id]]
        if agency.id in done.late:
            assert row[3] == "Muộn"
            # Vietnam wall clock, without a zone (Excel has none)
            assert row[4] == datetime(2025, 12, 19, 9, 0, tzinfo=VN_TZ).replace(tzinfo=None)
        elif agency.id in done.versions:
            assert row[3] == "Đúng hạn"
            assert row[6] == len(done.versions[agency.id])
        else:
            assert row[3] == "Chưa gửi"
            assert row[4] is None
    first_sent = next(r for r in ws.iter_rows(min_row=3) if r[4].value is not None)
    assert first_sent[4].number_format == DATE_FORMAT
    order = [row[1] for row in listed.values()]
    assert order.index("Khối phố 2") < order.index("Khối phố 10")  # numbers as numbers


async def test_docx_follows_the_outline_with_tables_totals_and_answers(
    db: Database, pack: CampaignPack
) -> None:
    done = await submit_many(db, pack, seed=11)
    file = await export_report(db, pack, "docx", now=NOW)
    doc = Document(io.BytesIO(file.content))
    headings = [p.text for p in doc.paragraphs if p.style and p.style.name.startswith("Heading")]
    for part in ("I. TỔ CHỨC THỰC HIỆN", "II. ĐÁNH GIÁ CHUNG", "III. TỔNG HỢP SỐ LIỆU"):
        assert part in headings
    assert "1. Kết quả đạt được, bài học kinh nghiệm" in headings
    assert "4. Kinh phí tổ chức" in headings
    for index, table in enumerate(TABLES):
        grid = doc.tables[index]
        rows = expected_rows(pack, done, table)
        assert len(grid.rows) == 2 + len(rows) + 1
        assert grid.rows[1].cells[4].text == "Nam"
        for offset, want in enumerate(rows):
            cells = [c.text for c in grid.rows[2 + offset].cells]
            got = [cells[1], cells[2], digits(cells[3]), digits(cells[4]), digits(cells[5])]
            assert [*got, cells[6]] == want
        total = [c.text for c in grid.rows[-1].cells]
        assert total[1] == "Tổng cộng"
        assert tuple(digits(x) for x in total[3:6]) == done.sums(pack, table)
    texts = [p.text for p in doc.paragraphs]
    state, mobilised = done.budget(pack)
    assert f"a) Ngân sách nhà nước: {vn(state)} đồng" in texts
    assert f"b) Kinh phí vận động, huy động: {vn(mobilised)} đồng" in texts
    for name, data in done.latest(pack):
        assert f"{name}: {data.values['assessment']['results']}" in texts
        difficulty = data.values["assessment"]["difficulties"]
        if difficulty:
            start = texts.index("2. Khó khăn, tồn tại")
            end = texts.index("3. Kiến nghị, đề xuất")
            assert f"{name}: {difficulty}" in texts[start:end]


async def test_csv_has_a_bom_and_the_three_tables_with_totals(
    db: Database, pack: CampaignPack
) -> None:
    done = await submit_many(db, pack, seed=5)
    file = await export_report(db, pack, "csv", now=NOW)
    assert file.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    totals = [row for row in rows if len(row) > 1 and row[1] == "Tổng cộng"]
    assert [tuple(int(x) for x in row[3:6]) for row in totals] == [
        done.sums(pack, table) for table in TABLES
    ]
    body = [row for row in rows if row and row[0].isdigit()]
    wanted = [r for table in TABLES for r in expected_rows(pack, done, table)]
    assert [[r[1], r[2], int(r[3]), int(r[4]), int(r[5]), r[6]] for r in body] == wanted


async def test_chart_sums_people_by_sex_and_agency_type(db: Database, pack: CampaignPack) -> None:
    done = await submit_many(db, pack, seed=13)
    file = await export_report(db, pack, "png", now=NOW)
    assert file.content.startswith(b"\x89PNG\r\n\x1a\n")
    summary = await summarise(db, pack, pack.deadlines[0], now=NOW)
    data = chart_data(summary)
    types = {a.name: a.type for a in pack.agencies}
    want: dict[str, list[int]] = {}
    for name, report in done.latest(pack):
        label = {"residential_group": "Khu dân cư"}.get(types[name])
        for table in TABLES:
            for row in report.tables.get(table, []):
                key = label or types[name]
                series = want.setdefault(key, [0, 0, 0, 0])
                base = 0 if table == "activities" else 2
                series[base] += int(row["male"] or 0)
                series[base + 1] += int(row["female"] or 0)
    assert data["Khu dân cư"] == dict(
        zip(
            ("participants_male", "participants_female", "reached_male", "reached_female"),
            want["Khu dân cư"],
            strict=True,
        )
    )
    assert sum(sum(v.values()) for v in data.values()) == sum(
        done.sums(pack, t)[1] + done.sums(pack, t)[2] for t in TABLES
    )


async def test_a_report_sent_in_the_chat_is_in_the_workbook(
    db: Database, pack: CampaignPack
) -> None:
    clock = FakeClock(BEFORE)
    chat = await bound_chat(db, clock, pack, "kp-2")
    await fill_minimal_report(chat)
    await chat.press_label("Gửi")
    file = await export_report(db, pack, "xlsx", now=clock.now())
    ws = load_workbook(io.BytesIO(file.content))["2. Nội dung"]
    assert [c.value for c in ws[3]] == [
        1,
        "Khối phố 2",
        "Loa truyền thanh",
        12,
        300,
        450,
        "Cấp xã (phường, xã)",
    ]
    assert [c.value for c in ws[4]][3:6] == [12, 300, 450]


async def test_no_submission_gives_empty_tables_and_zero_totals(
    db: Database, pack: CampaignPack
) -> None:
    files = {fmt: await export_report(db, pack, fmt, now=NOW) for fmt in FORMATS}
    wb = load_workbook(io.BytesIO(files["xlsx"].content))
    for name in SHEETS[:3]:
        assert [c.value for c in wb[name][3]][1:6] == ["Tổng cộng", None, 0, 0, 0]
    assert [c.value for c in wb["Kinh phí"][3]] == [None, "Tổng cộng", 0, 0]
    statuses = [r[3] for r in wb["Tình hình nộp"].iter_rows(min_row=3, values_only=True) if r[0]]
    assert statuses == ["Chưa gửi"] * 16
    doc = Document(io.BytesIO(files["docx"].content))
    for grid in doc.tables[:3]:
        assert len(grid.rows) == 3
        assert [c.text for c in grid.rows[2].cells][3:6] == ["0", "0", "0"]
    assert "(Chưa đơn vị nào trả lời.)" in [p.text for p in doc.paragraphs]
    assert files["png"].content.startswith(b"\x89PNG")
    assert files["csv"].content.decode("utf-8-sig").count("Tổng cộng,,0,0,0") == 3


async def test_an_unknown_deadline_is_refused(db: Database, pack: CampaignPack) -> None:
    with pytest.raises(NoDeadline):
        await export_report(db, pack, "xlsx", now=NOW, deadline_id="khong-co")
    assert pick_deadline(pack, None, NOW).id == pack.deadlines[0].id


async def test_every_sheet_prints_one_page_wide_in_landscape(
    db: Database, pack: CampaignPack
) -> None:
    """Printed as is, a sheet's seven columns spread over several A4 pages, one column each."""
    file = await export_report(db, pack, "xlsx", now=NOW)
    wb = load_workbook(io.BytesIO(file.content))
    for ws in wb:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize == 9, ws.title  # A4 in the OOXML paper codes
        assert ws.sheet_properties.pageSetUpPr is not None
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.print_title_rows == "$1:$2", ws.title  # the title and the header on every page
        assert ws.row_dimensions[2].height == 30, ws.title  # room for a two-line header


async def test_the_word_report_is_on_a4_with_administrative_margins_and_sized_columns(
    db: Database, pack: CampaignPack
) -> None:
    """python-docx's blank document is US Letter with equal columns, which cut «Kiểm tra/giám
    sát» mid-word; Vietnamese administrative documents are A4 (Nghị định 30/2020/NĐ-CP)."""
    file = await export_report(db, pack, "docx", now=NOW)
    doc = Document(io.BytesIO(file.content))
    section = doc.sections[0]
    sizes = (section.page_width, section.page_height, section.left_margin, section.right_margin)
    assert [round(s.mm) if s is not None else None for s in sizes] == [210, 297, 30, 15]
    text_width = Mm(210 - 30 - 15)
    for grid in doc.tables[:3]:
        widths = [cell.width for cell in grid.rows[-1].cells]
        assert all(w is not None for w in widths)
        assert sum(w or 0 for w in widths) <= text_width
        assert (widths[0] or 0) < (widths[1] or 0)  # STT narrow, the agency's name wide
        styles = {p.style.name for row in grid.rows for c in row.cells for p in c.paragraphs}
        assert styles == {"Loa Table Text"}
    assert doc.styles["Loa Table Text"].font.size == Pt(11)


async def test_the_file_name_carries_vietnams_date_not_utcs(
    db: Database, pack: CampaignPack
) -> None:
    """At 06:30 in Hà Nội on 20/12 it is still 19/12 in UTC: the file is dated the 20th."""
    early = datetime(2025, 12, 20, 6, 30, tzinfo=VN_TZ).astimezone(UTC)  # as the clock gives it
    assert early.day == 19
    file = await export_report(db, pack, "csv", now=early)
    assert file.filename.endswith("-20251220.csv")
