"""The three tally tables as one CSV file: UTF-8 with a byte-order mark, because Excel opens a
BOM-less UTF-8 CSV in the computer's legacy code page and garbles Vietnamese letters.

Each table is a block: its title, the header, one row per item, a total row, a blank line.
Numbers are plain digits (no grouping) so that any program reads them as numbers.
"""

from __future__ import annotations

import csv
import io

from bot.coordinators.export.summary import ReportSummary
from messages import t

BOM = "\ufeff"


def csv_bytes(summary: ReportSummary, lang: str = "vi") -> bytes:
    """The tables as CSV bytes (UTF-8 with BOM, comma-separated, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for number, table in enumerate(summary.tables, start=1):
        people = f"{table.people_header}: " if table.people_header else ""
        writer.writerow([f"{number}. {table.title}"])
        writer.writerow(
            [
                t("coordinators.file.stt", lang),
                t("coordinators.file.agency", lang),
                table.item_header,
                table.count_header,
                people + t("coordinators.file.male", lang),
                people + t("coordinators.file.female", lang),
                t("coordinators.file.level", lang),
            ]
        )
        for index, row in enumerate(table.rows, start=1):
            writer.writerow(
                [index, row.agency, row.item, row.count, row.male, row.female, row.level]
            )
        writer.writerow(
            [
                "",
                t("coordinators.file.total", lang),
                "",
                table.total_count,
                table.total_male,
                table.total_female,
                "",
            ]
        )
        writer.writerow([])
    return (BOM + out.getvalue()).encode("utf-8")
