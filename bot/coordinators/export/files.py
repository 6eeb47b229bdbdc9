"""One entry point for every format: `export_report(db, pack, fmt, now=…)` → an `ExportFile`
(name, media type, bytes) that the CLI writes to disk and a chat command sends as a document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from bot.clock import VN_TZ
from bot.coordinators.export.chart import chart_png
from bot.coordinators.export.csv import csv_bytes
from bot.coordinators.export.docx import document_bytes
from bot.coordinators.export.summary import ReportSummary, pick_deadline, summarise
from bot.coordinators.export.xlsx import workbook_bytes
from bot.domain.campaign import CampaignPack
from bot.storage.db import Database

ExportFormat = Literal["xlsx", "docx", "csv", "png"]
FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
MEDIA_TYPES: dict[ExportFormat, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv; charset=utf-8",
    "png": "image/png",
}


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A file of the summed report, ready to write or to send."""

    filename: str
    media_type: str
    content: bytes


def render(summary: ReportSummary, fmt: ExportFormat, lang: str = "vi") -> bytes:
    """The summary in one format."""
    if fmt == "xlsx":
        return workbook_bytes(summary, lang)
    if fmt == "docx":
        return document_bytes(summary, lang)
    if fmt == "csv":
        return csv_bytes(summary, lang)
    return chart_png(summary, lang)


def filename(summary: ReportSummary, fmt: ExportFormat) -> str:
    """«bao-cao-ky-lua-2025-thang-hanh-dong-20251218.xlsx»: ASCII, safe on every system; the
    date is Vietnam's (the clock gives UTC, seven hours behind)."""
    stamp = summary.generated_at.astimezone(VN_TZ).strftime("%Y%m%d")
    return f"bao-cao-{summary.pack.campaign.id}-{summary.deadline.id}-{stamp}.{fmt}"


async def export_report(
    db: Database,
    pack: CampaignPack,
    fmt: ExportFormat,
    *,
    now: datetime,
    deadline_id: str | None = None,
    lang: str = "vi",
) -> ExportFile:
    """Sum the latest version of every agency's report for the deadline and render it.

    `deadline_id` None: the current deadline (the next not yet past, else the last). Raises
    `NoDeadline` when the pack has no such deadline. No submission yet: empty tables, zero totals.
    """
    deadline = pick_deadline(pack, deadline_id, now)
    summary = await summarise(db, pack, deadline, now=now)
    return ExportFile(filename(summary, fmt), MEDIA_TYPES[fmt], render(summary, fmt, lang))
