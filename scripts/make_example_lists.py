#!/usr/bin/env python3
"""Write examples/agencies.xlsx and examples/groups.xlsx: the two lists a ward keeps, in the shape
`loa campaign new` reads (a title row of merged cells, a header row, STT, name, type or focal
point). Run from the repository root: `.venv/bin/python scripts/make_example_lists.py`."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

AGENCIES = [
    ("Phòng Văn hóa - Xã hội", "phòng"),
    ("Văn phòng HĐND và UBND phường", "phòng"),
    ("Trung tâm Dịch vụ công ích phường", "trung tâm"),
    ("Trạm y tế phường", "trạm y tế"),
    ("Trường Mầm non Hoa Sen", "trường"),
    ("Trường Tiểu học Đồng Tâm", "trường"),
    ("Trường THCS Đồng Tâm", "trường"),
    ("Công an phường", "công an"),
    ("Hội Liên hiệp Phụ nữ phường", "phụ nữ"),
    ("Ủy ban MTTQ Việt Nam phường", "mặt trận"),
    ("Đoàn Thanh niên phường", "đoàn thể"),
    ("Hội Cựu chiến binh phường", "đoàn thể"),
]
FOCAL = ["Nguyễn Thị Hoa", "Trần Văn Bình", "", "Lê Thị Mai", "Phạm Văn Hùng", ""]


def _sheet(
    path: Path, title: str, header: tuple[str, str, str], rows: list[tuple[str, str]]
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=3)
    sheet.append(list(header))
    for number, (name, extra) in enumerate(rows, start=1):
        sheet.append([number, name, extra])
    sheet.column_dimensions["B"].width = 40
    sheet.column_dimensions["C"].width = 24
    book.save(path)


def main() -> None:
    """Write both example lists."""
    EXAMPLES.mkdir(exist_ok=True)
    _sheet(
        EXAMPLES / "agencies.xlsx",
        "DANH SÁCH CƠ QUAN, ĐƠN VỊ THỰC HIỆN THÁNG HÀNH ĐỘNG",
        ("STT", "Tên đơn vị", "Loại"),
        AGENCIES,
    )
    groups = [(f"Tổ dân phố {n}", FOCAL[n % len(FOCAL)]) for n in range(1, 25)]
    _sheet(
        EXAMPLES / "groups.xlsx",
        "DANH SÁCH TỔ DÂN PHỐ",
        ("STT", "Tên tổ dân phố", "Người đầu mối"),
        groups,
    )


if __name__ == "__main__":
    main()
