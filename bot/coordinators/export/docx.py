"""The summed report as a Word document (python-docx), after seed 002's ĐỀ CƯƠNG BÁO CÁO:
I. Tổ chức thực hiện (with the budget totals), II. Đánh giá chung (each agency's answers under
their question), III. Tổng hợp số liệu (the three tables filled, with a total row), and who
reported when. Parts only the focal office can write are marked for it; it edits and signs."""

from __future__ import annotations

from copy import deepcopy
from io import BytesIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt
from docx.table import Table

from bot.clock import VN_TZ
from bot.coordinators.board import ReportStatus
from bot.coordinators.export.summary import ReportSummary, TallyTable
from bot.coordinators.export.xlsx import status_label
from bot.domain.campaign import in_lang
from bot.domain.numbers import format_count, format_vnd
from bot.reporting.reports import deadline_title, format_due
from messages import t

TABLE_STYLE = "Table Grid"
# A4 with the margins of Nghị định 30/2020/NĐ-CP, Phụ lục I (left 30-35 mm, right 15-20 mm,
# top and bottom 20-25 mm): 165 mm of text width.
PAGE_MM, MARGINS_MM = (210, 297), (20, 20, 30, 15)  # page; top, bottom, left, right
# STT, agency, item, count, men, women, level: 165 mm.
TALLY_COLUMNS_MM = (12, 31, 33, 20, 20, 20, 29)
APPENDIX_COLUMNS_MM = (12, 73, 45, 35)
TABLE_TEXT = "Loa Table Text"  # 11 pt: «38.683» fits a 20 mm column (13 pt wrapped it)


def _k(key: str, lang: str, **fields: object) -> str:
    return t(f"coordinators.docx.{key}", lang, **fields)


def _f(key: str, lang: str) -> str:
    return t(f"coordinators.file.{key}", lang)


def _a4(doc: DocxDocument) -> None:
    for section in doc.sections:
        section.page_width, section.page_height = (Mm(v) for v in PAGE_MM)
        top, bottom, left, right = (Mm(v) for v in MARGINS_MM)
        section.top_margin, section.bottom_margin = top, bottom
        section.left_margin, section.right_margin = left, right


def _column_widths(grid: Table, widths_mm: tuple[int, ...], style_id: str) -> None:
    """Fixed widths (Word reads each cell's, LibreOffice the grid's), since equal columns cut
    words, and the smaller table text. On the XML directly: python-docx's `row.cells` walks
    the whole grid on each call, which made 100 agencies take 13 s instead of 1."""
    grid.autofit = False
    widths = [Mm(v) for v in widths_mm]
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
    styled = OxmlElement("w:pPr")
    styled.append(OxmlElement("w:pStyle", {qn("w:val"): style_id}))
    for tr in grid._tbl.tr_lst:
        first = 0
        for tc in tr.tc_lst:
            tc.width = Length(sum(widths[first : first + tc.grid_span]))
            first += tc.grid_span
            for paragraph in tc.p_lst:
                if paragraph.pPr is None:  # a cell's text: no paragraph properties yet
                    paragraph.insert(0, deepcopy(styled))
                else:
                    paragraph.style = style_id


def _tally_table(doc: DocxDocument, table: TallyTable, lang: str) -> None:
    people = table.people_header or ""
    # every row made at once: python-docx's add_row() re-reads the grid's widths each time
    grid = doc.add_table(rows=len(table.rows) + 3, cols=7)
    grid.style = TABLE_STYLE
    body = grid.rows
    top, sub = grid.rows[0].cells, grid.rows[1].cells
    for column, text in enumerate(
        [_f("stt", lang), _f("agency", lang), table.item_header, table.count_header]
    ):
        top[column].merge(sub[column]).text = text
    top[4].merge(top[5]).text = people
    sub[4].text, sub[5].text = _f("male", lang), _f("female", lang)
    top[6].merge(sub[6]).text = _f("level", lang)
    for number, row in enumerate(table.rows, start=1):
        cells = body[number + 1].cells
        values = [
            str(number),
            row.agency,
            row.item,
            format_count(row.count),
            format_count(row.male),
            format_count(row.female),
            row.level,
        ]
        for cell, value in zip(cells, values, strict=True):
            cell.text = value
    cells = body[len(table.rows) + 2].cells
    cells[1].text = _f("total", lang)
    cells[3].text = format_count(table.total_count)
    cells[4].text = format_count(table.total_male)
    cells[5].text = format_count(table.total_female)
    for cell in cells:
        for run in (r for p in cell.paragraphs for r in p.runs):
            run.bold = True
    _column_widths(grid, TALLY_COLUMNS_MM, doc.styles[TABLE_TEXT].style_id)


def _part_1(doc: DocxDocument, summary: ReportSummary, lang: str) -> None:
    add = doc.add_paragraph
    doc.add_heading(_k("part_1", lang), level=1)
    for key in ("direction", "launch"):
        doc.add_heading(_k(key, lang), level=2)
        add(_k("to_write", lang))
    doc.add_heading(_k("activities", lang), level=2)
    expected = [s for s in summary.statuses if s.expected]
    add(
        _k(
            "agencies_line",
            lang,
            sent=sum(s.status is not ReportStatus.MISSING for s in expected),
            expected=len(expected),
            on_time=sum(s.status is ReportStatus.ON_TIME for s in expected),
            late=sum(s.status is ReportStatus.LATE for s in expected),
        )
    )
    for table in summary.tables:
        add(
            _k(
                "activities_line",
                lang,
                title=table.title,
                rows=len(table.rows),
                count=format_count(table.total_count),
                count_header=table.count_header,
                male=format_count(table.total_male),
                female=format_count(table.total_female),
            )
        )
    doc.add_heading(_k("budget", lang), level=2)
    for index, (column, amount) in enumerate(
        zip(summary.money_columns, summary.budget_totals(), strict=True)
    ):
        label = column.label.split("(")[0].strip()
        amount_text = format_vnd(amount).removesuffix(" đ")
        add(_k("budget_line", lang, letter="abcdefgh"[index], label=label, amount=amount_text))
    add(_k("see_tables", lang))


def _part_2(doc: DocxDocument, summary: ReportSummary, lang: str) -> None:
    doc.add_heading(_k("part_2", lang), level=1)
    bullet = doc.styles["List Bullet"]  # looked up once: a lookup by name walks every style
    for number, question in enumerate(summary.questions, start=1):
        doc.add_heading(_k("question", lang, number=number, label=question.label), level=2)
        if not question.answers:
            doc.add_paragraph(_k("no_answer", lang))
        for answer in question.answers:
            paragraph = doc.add_paragraph(style=bullet)
            paragraph.add_run(f"{answer.agency}: ").bold = True
            paragraph.add_run(answer.text)


def _part_3(doc: DocxDocument, summary: ReportSummary, lang: str) -> None:
    doc.add_heading(_k("part_3", lang), level=1)
    for number, table in enumerate(summary.tables, start=1):
        doc.add_heading(_k("table_title", lang, number=number, title=table.title), level=2)
        _tally_table(doc, table, lang)


def _appendix(doc: DocxDocument, summary: ReportSummary, lang: str) -> None:
    doc.add_heading(_k("appendix", lang), level=1)
    grid = doc.add_table(rows=1, cols=4)
    grid.style = TABLE_STYLE
    for cell, key in zip(grid.rows[0].cells, ("stt", "agency", "status", "first_at"), strict=True):
        cell.text = _f(key, lang)
    for number, status in enumerate(summary.statuses, start=1):
        cells = grid.add_row().cells
        first = ""
        if status.report is not None:
            first = status.report.first_at.astimezone(VN_TZ).strftime("%d/%m/%Y")
        for cell, value in zip(
            cells, [str(number), status.agency.name, status_label(status, lang), first], strict=True
        ):
            cell.text = value
    _column_widths(grid, APPENDIX_COLUMNS_MM, doc.styles[TABLE_TEXT].style_id)


def document_bytes(summary: ReportSummary, lang: str = "vi") -> bytes:
    """The report as .docx bytes."""
    doc = Document()
    _a4(doc)
    doc.styles["Normal"].font.name = "Times New Roman"
    doc.styles["Normal"].font.size = Pt(13)
    table_text = doc.styles.add_style(TABLE_TEXT, WD_STYLE_TYPE.PARAGRAPH)
    table_text.base_style = doc.styles["Normal"]
    table_text.font.size = Pt(11)
    pack = summary.pack
    heading = doc.add_heading(_k("kind", lang), level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in (
        _k("title", lang, title=in_lang(lang, pack.campaign.title, pack.campaign.title_en)),
        _k("subtitle", lang, locality=pack.campaign.locality, year=pack.campaign.year),
        _k(
            "deadline_line",
            lang,
            deadline=deadline_title(summary.deadline, lang),
            due=format_due(summary.deadline),
        ),
    ):
        doc.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.CENTER
    _part_1(doc, summary, lang)
    _part_2(doc, summary, lang)
    _part_3(doc, summary, lang)
    _appendix(doc, summary, lang)
    buffer = BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
