"""Missing agencies grouped by type: 47 khối phố in one line, others one per line."""

from __future__ import annotations

from bot.domain.campaign import Agency
from bot.reporting.gaps import gap_lines, group_gaps

KP = [Agency(id=f"kp-{n}", name=f"Khối phố {n}", type="residential_group") for n in range(1, 48)]


def test_47_groups_take_one_line_in_either_form() -> None:
    sent = {"kp-3", "kp-12"}
    missing = {a.id for a in KP} - sent
    assert gap_lines(group_gaps(KP, missing, "vi"), "vi") == [
        "• Khối phố: 45/47 chưa gửi — trừ 3, 12"
    ]
    assert gap_lines(group_gaps(KP, {"kp-12", "kp-2"}, "vi"), "vi") == [
        "• Khối phố: 2/47 chưa gửi: 2, 12"  # numbers sorted as numbers
    ]
    assert gap_lines(group_gaps(KP, {a.id for a in KP}, "en"), "en") == [
        "• Khối phố: 47/47 not sent"
    ]
    assert group_gaps(KP, set(), "vi") == []


def test_other_types_list_each_missing_agency_and_sort_in_vietnamese() -> None:
    agencies = [
        Agency(id="th-b", name="Trường Tiểu học Bình Minh", type="school"),
        Agency(id="th-a", name="Trường THCS Ánh Dương", type="school"),
        Agency(id="th-d", name="Trường Mầm non Đồng Xanh", type="school"),
        Agency(id="ca", name="Công an phường", type="police"),
        Agency(id="uy", name="Ủy ban MTTQ phường", type="front"),
        *KP[:3],
    ]
    lines = gap_lines(group_gaps(agencies, {a.id for a in agencies} - {"th-b"}, "vi"), "vi")
    assert lines == [
        "• Công an phường",
        "• Khối phố: 3/3 chưa gửi",
        "• Trường học: 2/3 chưa gửi:",
        "   – Trường Mầm non Đồng Xanh",
        "   – Trường THCS Ánh Dương",
        "• Ủy ban MTTQ phường",
    ]
