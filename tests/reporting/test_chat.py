"""The officials' report, played as a chat over SQLite and PostgreSQL through the form engine."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import FakeClock
from bot.storage.db import Database
from bot.storage.models import ReportDraft, ReportSubmission
from tests.support.chat import ChatDriver
from tests.support.reporting import (
    START,
    bound_chat,
    fill_minimal_report,
    make_conversation,
    reporting_pack,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def submissions(db: Database, agency_id: str | None = None) -> list[ReportSubmission]:
    async with db.session() as session:
        stmt = select(ReportSubmission).order_by(col(ReportSubmission.id))
        if agency_id is not None:
            stmt = stmt.where(col(ReportSubmission.agency_id) == agency_id)
        return list((await session.execute(stmt)).scalars())


async def draft_of(db: Database, chat_id: str) -> ReportDraft | None:
    async with db.session() as session:
        stmt = select(ReportDraft).where(col(ReportDraft.chat_id) == chat_id)
        return (await session.execute(stmt)).scalars().first()


async def test_full_report_with_back_skip_bad_numbers_and_edit(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "tram-y-te")
    await chat.type("/baocao")
    assert "Báo cáo của «Trạm Y tế phường»" in chat.texts()
    assert "hạn trước ngày 18/12/2025" in chat.texts()
    assert "Hoạt động: chọn một mục." in chat.texts()
    await chat.type("1")  # numbered reply: «Lễ phát động»
    assert "Số cuộc/đoàn" in chat.texts()
    # bad numbers: each refused with a reason, the question asked again, nothing stored
    for bad, reason in (
        ("-3", "Số không được âm."),
        ("2,5", "Xin nhập số nguyên"),
        ("một trăm", "Xin nhập bằng chữ số"),
        ("1000000000000000", "Số quá lớn"),
    ):
        await chat.type(bad)
        assert reason in chat.texts(), chat.texts()
        assert "Số cuộc/đoàn" in chat.texts()
    await chat.type("2")  # a count, not the second button
    await chat.type("quay lại")
    assert "Hiện tại: 2." in chat.texts()
    await chat.type("3")
    await chat.type("120")
    await chat.type("150 người")
    await chat.press_label("Cấp xã (phường, xã)")
    assert "Lễ phát động — 3 cuộc/đoàn, 120 nam, 150 nữ" in chat.texts()
    await chat.press_label("Không")  # no other activity
    await chat.press_label("Loa truyền thanh")
    await chat.type("1.200")  # above the usual range: a confirmation, not a refusal
    assert "cao hơn thường lệ" in chat.texts()
    await chat.press_label("Có")
    await chat.type("300")
    await chat.type("450")
    await chat.type("2")  # numbered reply in a choice question: «Khu dân cư …»
    await chat.press_label("Không")
    await chat.press_label("Không có")  # no products
    await chat.type("1,5 triệu")
    assert "Đã ghi 1.500.000 đ" in chat.texts()
    await chat.press_label("Bỏ qua")  # mobilised funds: optional
    await chat.type("Người dân hưởng ứng tích cực.")
    await chat.type("bỏ qua")
    await chat.type("bỏ qua")
    summary = chat.texts()
    assert "1. Hoạt động: Lễ phát động" in summary
    assert "Loa truyền thanh — 1.200 lượt, 300 nam, 450 nữ" in summary
    assert "Ngân sách nhà nước (đồng): 1.500.000 đ" in summary
    # edit item 2 (the media row): pick the quantity, change it, the rest stays
    await chat.type("sửa 2")
    await chat.press_label("Số lượng")
    await chat.type("12")
    assert "Loa truyền thanh — 12 lượt, 300 nam, 450 nữ" in chat.texts()
    assert await submissions(db) == []
    await chat.press_label("Gửi")
    assert "Đã nhận báo cáo của «Trạm Y tế phường»" in chat.texts()
    assert "phiên bản 1, đúng hạn" in chat.texts()
    rows = await submissions(db)
    assert [(r.agency_id, r.version, r.on_time) for r in rows] == [("tram-y-te", 1, True)]
    data = json.loads(rows[0].data_json)
    assert data["tables"]["activities"] == [
        {"kind": "launch", "sessions": 3, "male": 120, "female": 150, "level": "commune"}
    ]
    assert data["tables"]["media"][0]["quantity"] == 12
    assert data["tables"]["media"][0]["level"] == "residential"
    assert data["tables"]["products"] == []
    assert data["values"]["budget"] == {"state_budget": 1_500_000, "mobilised": None}
    assert await draft_of(db, "2001") is None
    # a later «gửi» is plain text again, not a second submission
    await chat.type("gửi")
    assert len(await submissions(db)) == 1


async def test_restart_in_the_middle_resumes_the_draft(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-1")
    await chat.type("/baocao")
    await chat.press_label("Hội nghị/tọa đàm/đối thoại")
    await chat.type("4")
    # the process restarts: new Conversation and router over the same database
    clock.advance(timedelta(minutes=30))
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2001")
    await chat.type("80")  # typed text goes on where the draft stopped
    assert "Số người tham gia – Nữ" in chat.texts()
    chat = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="2001")
    await chat.type("/baocao")
    assert "Tiếp tục bản nháp báo cáo của «Khối phố 1»" in chat.texts()
    assert "Số người tham gia – Nữ" in chat.texts()
    await chat.type("95")
    await chat.press_label("Khu dân cư (khối phố, tổ dân phố, thôn)")
    assert "Hội nghị/tọa đàm/đối thoại — 4 cuộc/đoàn, 80 nam, 95 nữ" in chat.texts()


async def test_amend_until_deadline_keeps_versions_and_latest_counts(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "truong-thcs")
    await fill_minimal_report(chat)
    await chat.press_label("Gửi")
    clock.advance(timedelta(days=2))
    await chat.type("/baocao")
    assert "đã gửi báo cáo (phiên bản 1)" in chat.texts()
    assert "có thể sửa đến hết ngày 17/12/2025" in chat.texts()
    assert "Tóm tắt báo cáo" in chat.texts()
    await chat.type("sửa 4")  # the state budget
    await chat.type("2 tr")
    await chat.type("gửi")
    assert "phiên bản 2, đúng hạn" in chat.texts()
    rows = await submissions(db)
    assert [(r.version, r.on_time) for r in rows] == [(1, True), (2, True)]
    assert json.loads(rows[1].data_json)["values"]["budget"]["state_budget"] == 2_000_000
    assert json.loads(rows[0].data_json)["values"]["budget"]["state_budget"] is None
    await chat.type("/baocaocuatoi")
    mine = chat.texts()
    assert "đã gửi 2 lần; phiên bản đang được tính là phiên bản 2" in mine
    assert "(đúng hạn)" in mine
    assert "Ngân sách nhà nước (đồng): 2.000.000 đ" in mine


async def test_late_submission_is_accepted_marked_late_then_closed(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "cong-an")
    # 18/12/2025 00:00 Vietnam time is the first late moment
    clock.set(pack.deadlines[0].due_at)
    await fill_minimal_report(chat)
    assert "báo cáo vẫn được nhận nhưng ghi là nộp muộn" not in chat.texts()
    await chat.press_label("Gửi")
    assert "nộp muộn (hạn trước ngày 18/12/2025)" in chat.texts()
    rows = await submissions(db)
    assert [(r.version, r.on_time) for r in rows] == [(1, False)]
    await chat.type("/baocao")
    assert "không sửa được nữa" in chat.texts()
    await chat.type("/baocaocuatoi")
    assert "(nộp muộn)" in chat.texts()
    assert len(await submissions(db)) == 1


async def test_a_draft_started_on_time_but_sent_late_is_late(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "hoi-phu-nu")
    clock.set(pack.deadlines[0].due_at - timedelta(hours=1))
    await fill_minimal_report(chat)
    clock.advance(timedelta(hours=2))
    await chat.press_label("Gửi")
    assert "nộp muộn" in chat.texts()
    assert [r.on_time for r in await submissions(db)] == [False]


async def test_my_report_before_sending(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-2")
    await chat.type("/baocaocuatoi")
    assert chat.texts() == (
        "«Khối phố 2» chưa gửi «Báo cáo Tháng hành động 2025» (hạn trước ngày 18/12/2025). "
        "Gõ /baocao để điền."
    )


async def test_quick_line_is_understood_and_added_not_sent(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-3")
    await chat.type("/nhanh")
    assert "/nhanh truyenthong <Số lượng> <Số người tiếp cận: Nam> <Số người tiếp cận: Nữ>" in (
        chat.texts()
    )
    await chat.type("/nhanh phaohoa 1 2 3")
    assert "Mình chưa biết loại «phaohoa»" in chat.texts()
    await chat.type("/nhanh truyenthong 3 một trăm 150")  # four words for three numbers
    assert chat.texts().startswith("Cú pháp: /nhanh truyenthong <Số lượng>")
    await chat.type("/nhanh truyenthong 3 abc 150")
    assert "Số người tiếp cận: Nam: Mình chưa hiểu số này" in chat.texts()
    await chat.type("/nhanh hoatdong 0 120 150")
    assert "Có người tham gia thì Số cuộc/đoàn phải lớn hơn 0." in chat.texts()
    await chat.type("/nhanh truyenthong 3 -120 150")
    assert "âm" in chat.texts()
    assert await draft_of(db, "2001") is None
    await chat.type("/nhanh truyenthong loa 3 120 150")
    assert "Đã hiểu: Loa truyền thanh — 3 lượt, 120 nam, 150 nữ" in chat.texts()
    assert "chưa gửi" in chat.texts()
    assert "Tóm tắt báo cáo" in chat.texts()
    await chat.type("/nhanh loa 2 10 20")
    assert "Loa truyền thanh — 2 lượt, 10 nam, 20 nữ" in chat.texts()
    assert await submissions(db) == []
    draft = await draft_of(db, "2001")
    assert draft is not None
    state = json.loads(draft.state_json)
    assert [r["quantity"] for r in state["tables"]["media"]] == [3, 2]
    # sending asks for what the quick lines left out (the level), then the required text
    await chat.type("gửi")
    assert "Báo cáo còn thiếu câu này" in chat.texts()
    assert "Cấp triển khai" in chat.texts()


async def test_quick_line_joins_a_draft_in_progress(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-1")
    await chat.type("/baocao")
    await chat.press_label("Kiểm tra/giám sát")
    await chat.type("/nhanh sanpham 100 40 60")
    assert "Đã hiểu:" in chat.texts()
    assert "Số cuộc/đoàn" in chat.texts()  # the question the person was at, again
    await chat.type("2")
    assert "Số người tham gia – Nam" in chat.texts()


async def test_twenty_thousand_characters_are_refused_and_nothing_stored(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-1")
    await chat.type("/baocao")
    await chat.press_label("Không có")
    await chat.press_label("Không có")
    await chat.press_label("Không có")
    await chat.type("bỏ qua")
    await chat.type("bỏ qua")
    assert "Kết quả đạt được" in chat.texts()
    before = await draft_of(db, "2001")
    assert before is not None
    await chat.type("x" * 20_000)
    assert "Nội dung quá dài" in chat.texts()
    assert "tối đa 2.000 ký tự" in chat.texts()
    after = await draft_of(db, "2001")
    assert after is not None
    assert after.state_json == before.state_json
    assert "xxxxxxxxxx" not in after.state_json


async def test_buttons_of_an_expired_form_store_nothing(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-2")
    await chat.type("/baocao")
    old = {c.label: c.data for c in chat.last[-1].choices}
    clock.advance(timedelta(hours=73))  # draft_ttl_hours is 72
    await chat.press(old["Lễ phát động"])
    assert "đã quá lâu không được sửa nên đã bị xóa" in chat.texts()
    assert await draft_of(db, "2001") is None
    await chat.press(old["Lễ phát động"])
    assert chat.texts() == (
        "Biểu mẫu này đã hết hạn hoặc đã kết thúc, nên mình không ghi gì. "
        "Gõ /baocao để bắt đầu lại."
    )
    # a new draft: the old button is recognised as stale and changes nothing
    await chat.type("/baocao")
    await chat.press(old["Lễ phát động"])
    assert "tin nhắn cũ" in chat.texts()
    draft = await draft_of(db, "2001")
    assert draft is not None
    assert json.loads(draft.state_json)["tables"]["activities"] == [{}]
    assert await submissions(db) == []


async def test_cancel_drops_the_draft(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-2")
    await chat.type("/baocao")
    await chat.type("hủy")
    await chat.press_label("Có")
    assert "Đã hủy bản nháp." in chat.texts()
    assert await draft_of(db, "2001") is None


async def test_residents_and_coordinators_get_a_clear_answer(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    resident = ChatDriver(make_conversation(db, clock, pack), clock, chat_id="3001")
    for command in ("/baocao", "/baocaocuatoi", "/nhanh truyenthong 1 2 3"):
        await resident.type(command)
        assert "Chức năng báo cáo dành cho cán bộ các đơn vị" in resident.texts()
    await resident.press("rp:f|abc|1|send")
    assert "Chức năng báo cáo dành cho cán bộ" in resident.texts()
    assert await submissions(db) == []


async def test_official_of_a_cannot_reach_the_report_of_b(db: Database, clock: FakeClock) -> None:
    pack = reporting_pack()
    b = await bound_chat(db, clock, pack, "tram-y-te", chat_id="2002")
    await fill_minimal_report(b)
    await b.press_label("Gửi")
    await b.type("/baocao")  # B opens an amendment: a draft with B's buttons
    b_buttons = [c.data for c in b.last[-1].choices]
    a = await bound_chat(db, clock, pack, "kp-1", chat_id="2001")
    await a.type("/baocaocuatoi")
    assert "«Khối phố 1» chưa gửi" in a.texts()
    assert "Trạm Y tế" not in a.texts()
    assert "Người dân hưởng ứng" not in a.texts()
    # B's buttons pressed in A's chat reach nothing of B's
    for data in b_buttons:
        await a.press(data)
        assert "Biểu mẫu này đã hết hạn" in a.texts()
    await a.type("/baocao")
    assert "Báo cáo của «Khối phố 1»" in a.texts()
    await a.press(b_buttons[0])  # «Gửi» of B's summary, in A's own draft: stale
    assert "tin nhắn cũ" in a.texts()
    rows = await submissions(db)
    assert [(r.agency_id, r.version) for r in rows] == [("tram-y-te", 1)]
    b_draft = await draft_of(db, "2002")
    assert b_draft is not None
    assert b_draft.agency_id == "tram-y-te"


async def test_a_typed_number_answers_a_figure_question_even_with_buttons(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "tram-y-te")
    await chat.type("/baocao")
    await chat.type("1")  # a numbered choice: «Lễ phát động»
    assert "Số cuộc/đoàn" in chat.texts()
    assert chat.labels(), "the figure question offers buttons (back …)"
    assert chat.last[-1].numbered is False
    await chat.type("1")  # one session — an answer, not a press of the first button
    assert "Số cuộc/đoàn" not in chat.texts()
    draft = await draft_of(db, chat.chat_id)
    assert draft is not None
    assert '"sessions":1' in draft.state_json.replace(" ", "")
