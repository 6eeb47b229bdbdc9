"""The summed report as an Excel workbook (openpyxl).

One sheet per tally table (STT, agency, item, count, men, women, level; a total row), one of
budget per agency, one of who reported when. Numbers are numbers; their display format carries
the Vietnamese locale (`[$-42A]`, LCID 0x042A), so LibreOffice shows «1.500.000» and dd/mm/yyyy
whatever the computer's own locale; Excel shows thousands with the separator of the computer's
regional settings (a dot on a Vietnamese Windows).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from bot.clock import VN_TZ, format_vn_datetime
from bot.coordinators.board import AgencyStatus, ReportStatus
from bot.coordinators.export.summary import ReportSummary, TallyTable
from bot.reporting.reports import deadline_title, format_due
from messages import t

NUMBER_FORMAT = "[$-42A]#,##0"
DATE_FORMAT = "[$-42A]dd/mm/yyyy"
BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_STATUS_COLUMNS = ("stt", "agency", "agency_type", "status", "first_at", "latest_at", "versions")
_INVALID_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_name(index: int, table: TallyTable) -> str:
    """«1. Hoạt động»: Excel allows 31 characters and none of []:*?/\\."""
    return f"{index}. {table.item_header}".translate(_INVALID_SHEET_CHARS)[:31]


def _local(moment: datetime) -> datetime:
    """Excel has no time zones: Vietnam wall-clock time, naive."""
    return moment.astimezone(VN_TZ).replace(tzinfo=None)


def _header(ws: Worksheet, row: int, values: list[str]) -> None:
    for column, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=column, value=value)
        cell.font = BOLD
        cell.alignment = _WRAP
    ws.row_dimensions[row].height = 30  # two lines: a wrapped header is not refitted on open


def _widths(ws: Worksheet, widths: list[int]) -> None:
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width


def _print_setup(ws: Worksheet) -> None:
    """A4 landscape, one page wide (as many long as needed), title and header on every page:
    printed as is, the columns would spread one per page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:2"


def _numbers(ws: Worksheet, row: int, first_column: int, values: list[int]) -> None:
    for offset, value in enumerate(values):
        cell = ws.cell(row=row, column=first_column + offset, value=value)
        cell.number_format = NUMBER_FORMAT


def _tally_sheet(wb: Workbook, index: int, table: TallyTable, lang: str) -> None:
    ws = wb.create_sheet(sheet_name(index, table))
    ws.cell(row=1, column=1, value=f"{index}. {table.title}").font = BOLD
    people = f"{table.people_header}: " if table.people_header else ""
    _header(
        ws,
        2,
        [
            t("coordinators.file.stt", lang),
            t("coordinators.file.agency", lang),
            table.item_header,
            table.count_header,
            people + t("coordinators.file.male", lang),
            people + t("coordinators.file.female", lang),
            t("coordinators.file.level", lang),
        ],
    )
    row = 3
    for number, item in enumerate(table.rows, start=1):
        ws.cell(row=row, column=1, value=number)
        ws.cell(row=row, column=2, value=item.agency)
        ws.cell(row=row, column=3, value=item.item)
        _numbers(ws, row, 4, [item.count, item.male, item.female])
        ws.cell(row=row, column=7, value=item.level)
        row += 1
    ws.cell(row=row, column=2, value=t("coordinators.file.total", lang)).font = BOLD
    _numbers(ws, row, 4, [table.total_count, table.total_male, table.total_female])
    for column in (4, 5, 6):
        ws.cell(row=row, column=column).font = BOLD
    _widths(ws, [6, 34, 30, 14, 16, 16, 30])
    ws.freeze_panes = "A3"
    _print_setup(ws)


def _budget_sheet(wb: Workbook, summary: ReportSummary, lang: str) -> None:
    ws = wb.create_sheet(t("coordinators.file.budget_sheet", lang))
    ws.cell(row=1, column=1, value=t("coordinators.file.budget_title", lang)).font = BOLD
    labels = [c.label for c in summary.money_columns]
    _header(ws, 2, [t("coordinators.file.stt", lang), t("coordinators.file.agency", lang), *labels])
    row = 3
    for number, item in enumerate(summary.budget, start=1):
        ws.cell(row=row, column=1, value=number)
        ws.cell(row=row, column=2, value=item.agency)
        _numbers(ws, row, 3, list(item.amounts))
        row += 1
    ws.cell(row=row, column=2, value=t("coordinators.file.total", lang)).font = BOLD
    _numbers(ws, row, 3, list(summary.budget_totals()))
    _widths(ws, [6, 34, *[24] * len(labels)])
    ws.freeze_panes = "A3"
    _print_setup(ws)


def status_label(status: AgencyStatus, lang: str) -> str:
    """«Đúng hạn», «Muộn», «Chưa gửi» (and «(không bắt buộc)» for a voluntary report)."""
    label = t(f"coordinators.file.{status.status.value}", lang)
    if not status.expected:
        label += " " + t("coordinators.file.not_expected", lang)
    return label


def _status_sheet(wb: Workbook, summary: ReportSummary, lang: str) -> None:
    ws = wb.create_sheet(t("coordinators.file.status_sheet", lang))
    deadline = summary.deadline
    title = t(
        "coordinators.file.status_title",
        lang,
        deadline=deadline_title(deadline, lang),
        due=format_due(deadline),
    )
    ws.cell(row=1, column=1, value=title).font = BOLD
    _header(
        ws,
        2,
        [t(f"coordinators.file.{key}", lang) for key in _STATUS_COLUMNS],
    )
    for number, status in enumerate(summary.statuses, start=1):
        row = number + 2
        ws.cell(row=row, column=1, value=number)
        ws.cell(row=row, column=2, value=status.agency.name)
        ws.cell(row=row, column=3, value=t(f"agencies.type.{status.agency.type}", lang))
        ws.cell(row=row, column=4, value=status_label(status, lang))
        if status.report is not None and status.status is not ReportStatus.MISSING:
            first = ws.cell(row=row, column=5, value=_local(status.report.first_at))
            latest = ws.cell(row=row, column=6, value=_local(status.report.latest.submitted_at))
            first.number_format = latest.number_format = DATE_FORMAT
            ws.cell(row=row, column=7, value=status.report.versions)
    note_row = len(summary.statuses) + 4
    generated = t("coordinators.file.generated", lang, at=format_vn_datetime(summary.generated_at))
    ws.cell(row=note_row, column=2, value=generated)
    _widths(ws, [6, 34, 22, 22, 14, 14, 10])
    ws.freeze_panes = "A3"
    _print_setup(ws)


def workbook_bytes(summary: ReportSummary, lang: str = "vi") -> bytes:
    """The workbook as .xlsx bytes."""
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    for index, table in enumerate(summary.tables, start=1):
        _tally_sheet(wb, index, table, lang)
    _budget_sheet(wb, summary, lang)
    _status_sheet(wb, summary, lang)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
