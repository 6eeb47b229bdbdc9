"""A PNG chart of participants (activities) and people reached (media, products) by sex, per
agency type. Drawn on a bare `Figure` (never pyplot), which renders with the Agg canvas: no
display, no global backend switch, safe in a server (matplotlib's "embedding in a web
application server" advice)."""

from __future__ import annotations

from io import BytesIO

from matplotlib.figure import Figure

from bot.coordinators.export.summary import ReportSummary
from bot.domain.text import vi_sort_key
from messages import t

PARTICIPANTS = "activities"  # the table whose men and women took part; the others reached people
SERIES = ("participants_male", "participants_female", "reached_male", "reached_female")


def chart_data(summary: ReportSummary, lang: str = "vi") -> dict[str, dict[str, int]]:
    """agency type label → series → people, for types that reported something, in Vietnamese
    order of labels."""
    data: dict[str, dict[str, int]] = {}
    for table in summary.tables:
        prefix = "participants" if table.section_id == PARTICIPANTS else "reached"
        for row in table.rows:
            label = t(f"agencies.type.{row.agency_type}", lang)
            series = data.setdefault(label, dict.fromkeys(SERIES, 0))
            series[f"{prefix}_male"] += row.male
            series[f"{prefix}_female"] += row.female
    return {label: data[label] for label in sorted(data, key=vi_sort_key)}


def chart_png(summary: ReportSummary, lang: str = "vi") -> bytes:
    """The grouped bar chart as PNG bytes (an empty chart when nothing was sent)."""
    data = chart_data(summary, lang)
    labels = list(data)
    figure = Figure(figsize=(10, 5.5), dpi=100)
    axes = figure.subplots()
    width = 0.2
    positions = range(len(labels))
    for index, series in enumerate(SERIES):
        axes.bar(
            [p + (index - 1.5) * width for p in positions],
            [data[label][series] for label in labels],
            width,
            label=t(f"coordinators.file.chart_{series}", lang),
        )
    axes.set_xticks(list(positions), labels, rotation=20, ha="right")
    axes.set_ylabel(t("coordinators.file.chart_people", lang))
    axes.set_title(t("coordinators.file.chart_title", lang))
    axes.yaxis.set_major_formatter(lambda value, _: f"{int(value):,}".replace(",", "."))
    axes.legend()
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
