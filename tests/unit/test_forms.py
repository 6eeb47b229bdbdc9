"""The report form as conversations: happy path, back, skip, numbered replies, stale buttons, bad
numbers, confirmations, cross-checks, summary edits, restarts (JSON round trips), NFD input."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import VN_TZ
from bot.domain.campaign import (
    ChoiceOption,
    CrossCheck,
    FormField,
    FormSection,
    QuickForm,
    ReportForm,
)
from bot.domain.forms import (
    FormData,
    FormInput,
    FormState,
    QuickFillError,
    draft_expired,
    draft_expiry_warning_due,
    is_form_button,
    quick_fill,
    state_fits,
    unusual_fields,
)
from bot.reporting.form_render import (
    FormReply,
    describe_row,
    prompt,
    quick_fill_error_text,
    start,
    step,
    summary_text,
)
from messages import catalogue, placeholders, t

LEVELS = [
    ChoiceOption(id="xa", label="Xã/phường"),
    ChoiceOption(id="thon", label="Thôn/tổ dân phố"),
]


def _table(
    sid: str, title: str, row_label: str, kinds: list[ChoiceOption], count: str
) -> FormSection:
    count_label = "Số cuộc/đoàn" if count == "sessions" else "Số lượng"
    return FormSection(
        id=sid,
        title=title,
        kind="table",
        row_label=row_label,
        max_rows=5,
        fields=[
            FormField(id="kind", label=row_label.capitalize(), type="choice", choices=kinds),
            FormField(id=count, label=count_label, type="count", typical_max=50),
            FormField(id="male", label="Nam", type="count", typical_max=5000),
            FormField(id="female", label="Nữ", type="count", typical_max=5000),
            FormField(id="level", label="Cấp triển khai", type="choice", choices=LEVELS),
        ],
    )


FORM = ReportForm(
    title="Kết quả Tháng hành động 2025",
    sections=[
        _table(
            "activities",
            "Hoạt động",
            "hoạt động",
            [
                ChoiceOption(id="launch", label="Lễ phát động"),
                ChoiceOption(id="talk", label="Nói chuyện chuyên đề"),
                ChoiceOption(id="inspection", label="Kiểm tra, giám sát"),
            ],
            "sessions",
        ),
        _table(
            "media",
            "Truyền thông",
            "nội dung",
            [
                ChoiceOption(id="loa", label="Loa truyền thanh"),
                ChoiceOption(id="web", label="Trang thông tin điện tử"),
            ],
            "quantity",
        ),
        _table(
            "products",
            "Sản phẩm truyền thông",
            "sản phẩm",
            [
                ChoiceOption(id="leaflet", label="Tờ rơi"),
                ChoiceOption(id="banner", label="Băng rôn"),
            ],
            "quantity",
        ),
        FormSection(
            id="budget",
            title="Kinh phí",
            kind="fields",
            fields=[
                FormField(
                    id="state_budget",
                    label="Ngân sách nhà nước",
                    type="money",
                    required=False,
                    typical_max=500_000_000,
                ),
                FormField(id="mobilised", label="Kinh phí vận động", type="money", required=False),
            ],
        ),
        FormSection(
            id="assessment",
            title="Đánh giá",
            kind="fields",
            fields=[
                FormField(id="results", label="Kết quả, bài học", type="text", max_length=2000),
                FormField(
                    id="difficulties",
                    label="Khó khăn",
                    type="text",
                    required=False,
                    max_length=2000,
                ),
                FormField(
                    id="recommendations",
                    label="Kiến nghị",
                    type="text",
                    required=False,
                    max_length=2000,
                ),
            ],
        ),
    ],
    checks=[
        CrossCheck(
            kind="requires_positive",
            section="activities",
            fields=["male", "female"],
            target="sessions",
        ),
        CrossCheck(
            kind="requires_positive", section="media", fields=["male", "female"], target="quantity"
        ),
    ],
    quick=[
        QuickForm(
            alias="truyenthong",
            section="media",
            preset={"kind": "loa"},
            fields=["quantity", "male", "female"],
        )
    ],
)


class Chat:
    """A conversation with the form; the state goes through JSON after every step (a restart)."""

    def __init__(self, form: ReportForm = FORM, lang: str = "vi", *, restart: bool = True) -> None:
        self.form, self.lang, self.restart = form, lang, restart
        self.state, self.reply = start(form, draft_id="d1", lang=lang)
        self.replies: list[FormReply] = [self.reply]

    def _go(self, inp: FormInput) -> FormReply:
        new, reply = step(self.form, self.state, inp, lang=self.lang)
        assert FormState.from_json(new.to_json()) == new
        self.state = FormState.from_json(new.to_json()) if self.restart else new
        self.reply = reply
        self.replies.append(reply)
        assert all(len(c.data.encode()) <= 64 for c in reply.choices)
        return reply

    def say(self, text: str) -> FormReply:
        return self._go(FormInput.typed(text))

    def press(self, label: str) -> FormReply:
        data = next(c.data for c in self.reply.choices if c.label == label)
        return self._go(FormInput.pressed(data))

    def mode(self) -> str:
        return self.state.mode

    def labels(self) -> list[str]:
        return [c.label for c in self.reply.choices]

    def answer_row(self, *answers: str) -> FormReply:
        for answer in answers:
            self.say(answer)
        return self.reply


def _fill_to_summary(chat: Chat) -> None:
    """Activities: 2 rows; media: none; products: 1 row; budget; assessment."""
    chat.press("Lễ phát động")
    chat.answer_row("1", "40", "60")
    chat.press("Xã/phường")
    chat.press("Có")
    chat.say("2")  # numbered reply: «Nói chuyện chuyên đề»
    chat.answer_row("3", "25", "75", "thôn/tổ dân phố")
    chat.press("Không")
    chat.press("Không có")  # media: no rows
    chat.say("Tờ rơi")
    chat.say("500")  # above typical_max 50
    assert "Bạn chắc chắn số 500?" in chat.reply.text
    chat.press("Có")
    chat.answer_row("0", "0", "1")
    chat.say("Không")  # no more products
    chat.say("1,5 triệu")
    chat.say("bỏ qua")
    chat.say("Tổ chức tốt lễ phát động; cần làm sớm hơn.")
    chat.say("bỏ qua")
    chat.say("Xin thêm kinh phí cho thôn.")


EXPECTED = FormData(
    tables={
        "activities": [
            {"kind": "launch", "sessions": 1, "male": 40, "female": 60, "level": "xa"},
            {"kind": "talk", "sessions": 3, "male": 25, "female": 75, "level": "thon"},
        ],
        "media": [],
        "products": [{"kind": "leaflet", "quantity": 500, "male": 0, "female": 0, "level": "xa"}],
    },
    values={
        "budget": {"state_budget": 1_500_000, "mobilised": None},
        "assessment": {
            "results": "Tổ chức tốt lễ phát động; cần làm sớm hơn.",
            "difficulties": None,
            "recommendations": "Xin thêm kinh phí cho thôn.",
        },
    },
)


def test_happy_path_with_a_restart_at_every_step() -> None:
    chat = Chat()
    assert "Kết quả Tháng hành động 2025" in chat.reply.text
    assert "Phần 1/5 · Hoạt động\n" in chat.reply.text
    assert chat.labels() == [
        "Lễ phát động",
        "Nói chuyện chuyên đề",
        "Kiểm tra, giám sát",
        "Không có",
        "Quay lại",
    ]
    assert chat.reply.numbered
    _fill_to_summary(chat)
    assert chat.mode() == "summary"
    summary = chat.reply.text
    assert "1. Hoạt động: Lễ phát động — 1 cuộc/đoàn, 40 nam, 60 nữ, Cấp triển khai: Xã/phường" in (
        summary
    )
    assert "3. Truyền thông: không có" in summary
    assert "5. Ngân sách nhà nước: 1.500.000 đ" in summary
    assert "6. Kinh phí vận động: (bỏ trống)" in summary
    assert chat.labels()[0] == "Gửi"
    assert chat.labels()[-1] == "Hủy"
    assert "Sửa 9" in chat.labels()
    assert not chat.reply.numbered

    reply = chat.press("Gửi")
    assert reply.done
    assert reply.submitted == EXPECTED
    assert reply.text == "Đã gửi báo cáo. Cảm ơn anh/chị!"
    assert FormData.model_validate_json(EXPECTED.model_dump_json()) == EXPECTED


def test_restarts_change_nothing() -> None:
    kept, restarted = Chat(restart=False), Chat(restart=True)
    _fill_to_summary(kept)
    _fill_to_summary(restarted)
    assert kept.state == restarted.state
    assert [r.text for r in kept.replies] == [r.text for r in restarted.replies]


def test_every_step_changes_the_nonce_and_nothing_else_reuses_it() -> None:
    chat = Chat()
    nonces = [chat.state.nonce]
    for answer in ["Lễ phát động", "1", "40", "60", "1"]:
        chat.say(answer)
        nonces.append(chat.state.nonce)
    assert nonces == sorted(set(nonces))


def test_back_across_a_row_boundary_and_a_section() -> None:
    chat = Chat()
    chat.press("Lễ phát động")
    chat.answer_row("1", "40", "60")
    chat.press("Xã/phường")
    chat.press("Có")
    assert "hoạt động thứ 2" in chat.reply.text
    chat.say("quay lại")  # from row 2's first question to row 1's last
    assert "hoạt động thứ 2" not in chat.reply.text
    assert "Cấp triển khai" in chat.reply.text
    assert "Hiện tại: Xã/phường" in chat.reply.text
    assert "Giữ nguyên" in chat.labels()
    assert len(chat.state.tables["activities"]) == 1  # the empty row 2 is gone
    chat.say("QUAY LẠI")
    assert "Nữ" in chat.reply.text
    assert "Hiện tại: 60" in chat.reply.text
    chat.say("65")
    chat.say("giữ nguyên")
    assert chat.mode() == "more_rows"
    chat.say("không")
    assert "Phần 2/5 · Truyền thông" in chat.reply.text
    chat.say("quay lai")  # across sections: media → activities' last field
    assert "Phần 1/5 · Hoạt động\n" in chat.reply.text
    assert "Cấp triển khai" in chat.reply.text
    assert chat.state.tables["activities"] == [
        {"kind": "launch", "sessions": 1, "male": 40, "female": 65, "level": "xa"}
    ]
    assert chat.state.tables["media"] == []


def test_back_at_the_first_question() -> None:
    chat = Chat()
    before = chat.state
    reply = chat.say("quay lại")
    assert "Đây là câu hỏi đầu tiên." in reply.text
    assert chat.state == before


def test_skip_optional_versus_required() -> None:
    chat = Chat()
    chat.press("Không có")
    chat.press("Không có")
    chat.press("Không có")
    assert "Ngân sách nhà nước" in chat.reply.text
    assert "(Không bắt buộc" in chat.reply.text
    chat.press("Bỏ qua")
    chat.say("Bo Qua")
    assert "Kết quả, bài học" in chat.reply.text
    assert "Bỏ qua" not in chat.labels()
    before = chat.state
    reply = chat.say("bỏ qua")
    assert "«Kết quả, bài học» là câu bắt buộc, không bỏ qua được." in reply.text
    assert chat.state == before
    assert chat.state.values["budget"] == {"state_budget": None, "mobilised": None}


def test_numbered_replies_pick_choices() -> None:
    chat = Chat()
    chat.say("3")
    assert chat.state.tables["activities"][0]["kind"] == "inspection"
    assert not chat.reply.numbered  # a count question: «2» is a number, not a choice
    chat.say("2")
    assert chat.state.tables["activities"][0]["sessions"] == 2
    chat.answer_row("1", "1")
    before = chat.state
    reply = chat.say("7")
    assert "Không có lựa chọn số 7." in reply.text
    assert chat.state == before
    chat.say("2")
    assert chat.state.tables["activities"][0]["level"] == "thon"
    chat.say("2")  # «Không» on the yes/no question
    assert chat.state.section == 1
    # media: «Không có» is the third button, but a typed number picks only the answers
    assert "Không có lựa chọn số 3." in chat.say("3").text
    assert chat.state.section == 1
    chat.say("không có")
    assert chat.state.tables["media"] == []


def test_a_stale_button_leaves_the_state_alone() -> None:
    chat = Chat()
    old_launch = next(c for c in chat.reply.choices if c.label == "Lễ phát động")
    chat.press("Nói chuyện chuyên đề")
    before = chat.state
    new, reply = step(FORM, chat.state, FormInput.pressed(old_launch.data), lang="vi")
    assert new == before
    assert reply.text.startswith("Nút này thuộc một tin nhắn cũ")
    assert "Số cuộc/đoàn" in reply.text  # the current question again
    assert before.tables["activities"][0]["kind"] == "talk"
    # a button of another draft, and garbage, are stale too
    other = old_launch.data.replace("|d1|", "|d2|")
    for data in (other, "f|d1|x", "nonsense"):
        new, reply = step(FORM, before, FormInput.pressed(data), lang="vi")
        assert new == before
        assert "tin nhắn cũ" in reply.text
    assert is_form_button(old_launch.data)
    assert not is_form_button("sub|x")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-3", "Số không được âm."),
        ("2,5", "Xin nhập số nguyên (không có phần lẻ)."),
        ("một trăm", "Xin nhập bằng chữ số (ví dụ 0, 12, 100), không viết bằng chữ."),
        (str(10**15), "Số quá lớn (tối đa 10.000.000)."),
        ("abc", "Mình chưa hiểu số này."),
        ("", "Xin nhập một số."),
    ],
)
def test_bad_numbers_are_refused_and_nothing_is_stored(typed: str, message: str) -> None:
    chat = Chat()
    chat.press("Lễ phát động")
    before = chat.state
    reply = chat.say(typed)
    assert message in reply.text
    assert "Số cuộc/đoàn: nhập một số" in reply.text  # asked again
    assert chat.state == before


def test_a_figure_far_above_typical_asks_for_confirmation() -> None:
    chat = Chat()
    chat.press("Lễ phát động")
    chat.say("2")
    chat.say("50000")
    assert "Nam: 50.000 — con số này cao hơn thường lệ. Bạn chắc chắn số 50.000?" in chat.reply.text
    assert chat.labels() == ["Có", "Không"]
    assert "male" not in chat.state.tables["activities"][0]
    chat.press("Không")
    assert "Vâng, xin nhập lại." in chat.reply.text
    assert "Nam: nhập một số" in chat.reply.text
    assert chat.state.pending is None
    chat.say("50000")
    chat.say("có")
    assert chat.state.tables["activities"][0]["male"] == 50_000
    assert "Nữ" in chat.reply.text
    chat.say("9000")
    chat.say("45")  # a corrected figure replaces the pending one
    assert chat.state.pending is None
    assert chat.state.tables["activities"][0]["female"] == 45
    chat.say("quay lại")
    chat.say("60000")
    chat.say("60.000")  # typing the same figure again counts as «Có»
    assert chat.state.tables["activities"][0]["female"] == 60_000


def test_participants_without_sessions_fail_the_cross_check() -> None:
    chat = Chat()
    chat.press("Lễ phát động")
    chat.answer_row("0", "10", "5")
    chat.press("Xã/phường")
    assert (
        "Nam, Nữ có người tham gia thì Số cuộc/đoàn phải lớn hơn 0. Xin nhập lại Số cuộc/đoàn."
        in chat.reply.text
    )
    assert "Số cuộc/đoàn: nhập một số" in chat.reply.text
    assert chat.mode() == "filling"
    assert "Hiện tại: 0" in chat.reply.text  # the figure is kept and shown
    chat.say("giữ nguyên")  # keeping it runs the check again
    assert "phải lớn hơn 0" in chat.reply.text
    chat.say("quay lại")  # back from the recheck loses nothing
    assert "Hiện tại: Lễ phát động" in chat.reply.text
    assert chat.state.tables["activities"][0]["sessions"] == 0
    chat.say("giữ nguyên")
    chat.say("0")  # still wrong; the walk goes on to the row's end, where the check runs
    for _ in range(3):
        chat.say("giữ nguyên")
    assert "phải lớn hơn 0" in chat.reply.text
    chat.say("2")
    assert chat.mode() == "more_rows"  # the row is whole again: no walk through the rest
    assert chat.state.tables["activities"][0] == {
        "kind": "launch",
        "sessions": 2,
        "male": 10,
        "female": 5,
        "level": "xa",
    }
    assert "Đã ghi: Lễ phát động — 2 cuộc/đoàn, 10 nam, 5 nữ" in chat.reply.text


def test_a_twenty_thousand_character_text_is_refused() -> None:
    chat = Chat()
    for _ in range(3):
        chat.press("Không có")
    chat.say("bỏ qua")
    chat.say("bỏ qua")
    before = chat.state
    reply = chat.say("x" * 20_000)
    assert "Nội dung quá dài: 20.000 ký tự, tối đa 2.000 ký tự." in reply.text
    assert chat.state == before
    chat.say("y" * 2000)
    assert chat.state.values["assessment"]["results"] == "y" * 2000


def test_summary_edit_then_submit() -> None:
    chat = Chat()
    _fill_to_summary(chat)
    chat.say("sửa 2")  # a table row: pick the value to change
    assert chat.state.editing is not None
    assert "Sửa mục 2: Nói chuyện chuyên đề — 3 cuộc/đoàn, 25 nam, 75 nữ" in chat.reply.text
    assert chat.labels() == [
        "Hoạt động",
        "Số cuộc/đoàn",
        "Nam",
        "Nữ",
        "Cấp triển khai",
        "Xóa dòng này",
        "Quay lại",
    ]
    chat.press("Số cuộc/đoàn")
    assert "Hiện tại: 3" in chat.reply.text
    chat.say("4")  # sessions 3 → 4, then back to the summary
    assert chat.mode() == "summary"
    chat.say("sửa 2 nữ 80")  # or in one line
    assert chat.mode() == "summary"
    assert "2. Hoạt động: Nói chuyện chuyên đề — 4 cuộc/đoàn, 25 nam, 80 nữ" in chat.reply.text
    chat.say("Sua 5")  # a budget field: one question, then the summary
    assert "Hiện tại: 1.500.000 đ" in chat.reply.text
    chat.say("2 tr")
    assert "Đã ghi 2.000.000 đ." in chat.reply.text
    assert chat.mode() == "summary"
    reply = chat.say("gửi")
    rows = [dict(r) for r in EXPECTED.tables["activities"]]
    rows[1].update(sessions=4, female=80)
    expected = EXPECTED.model_copy(
        update={
            "tables": {**EXPECTED.tables, "activities": rows},
            "values": {**EXPECTED.values, "budget": {"state_budget": 2_000_000, "mobilised": None}},
        }
    )
    assert reply.submitted == expected


def test_summary_edit_of_an_empty_table_adds_a_row_and_delete_removes_one() -> None:
    chat = Chat()
    _fill_to_summary(chat)
    chat.say("sửa 3")  # «Truyền thông: không có»
    assert "Không có" in chat.labels()
    chat.press("Loa truyền thanh")
    chat.answer_row("3", "120", "150", "1")
    assert chat.mode() == "summary"
    assert "3. Truyền thông: Loa truyền thanh — 3 lượt, 120 nam, 150 nữ" in chat.reply.text
    chat.say("sửa 1")
    chat.press("Xóa dòng này")
    assert "Đã xóa dòng." in chat.reply.text
    assert len(chat.state.tables["activities"]) == 1
    assert "1. Hoạt động: Nói chuyện chuyên đề" in chat.reply.text
    before = chat.state
    assert "Không có mục 99; báo cáo có 8 mục." in chat.say("sửa 99").text
    assert chat.state == before
    assert "Gõ «gửi»" in chat.say("2").text  # a bare number is not a summary command
    chat.say("quay lại")  # from the summary to the last question
    assert "Kiến nghị" in chat.reply.text
    chat.say("giữ nguyên")
    assert chat.mode() == "summary"


def test_cancel_asks_first() -> None:
    chat = Chat()
    chat.press("Lễ phát động")
    before = chat.state
    chat.say("hủy")
    assert chat.reply.text == "Hủy bản nháp? Mọi số liệu đã nhập sẽ bị xóa."
    chat.press("Không")
    assert chat.mode() == "filling"
    assert chat.state.tables == before.tables
    assert "Số cuộc/đoàn" in chat.reply.text
    chat.say("HUY")
    reply = chat.say("có")
    assert reply.done
    assert reply.cancelled
    assert reply.submitted is None
    after, again = step(FORM, chat.state, FormInput.typed("1"), lang="vi")
    assert after == chat.state
    assert again.done


def test_nfd_input_is_understood() -> None:
    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    chat = Chat()
    chat.say(nfd("Nói chuyện chuyên đề"))
    assert chat.state.tables["activities"][0]["kind"] == "talk"
    chat.say(nfd("Quay lại"))
    assert chat.state.field == 0
    chat.say(nfd("Kiểm tra, giám sát"))
    chat.answer_row("1", "1", "1", nfd("Xã/phường"))
    chat.say(nfd("Không"))
    for _ in range(2):
        chat.say(nfd("Không có"))
    chat.say(nfd("1,5 triệu đồng"))
    assert chat.state.values["budget"]["state_budget"] == 1_500_000
    chat.say(nfd("bỏ qua"))
    chat.say(nfd("Đã tổ chức tốt"))
    assert chat.state.values["assessment"]["results"] == "Đã tổ chức tốt"


def test_text_answers_may_look_like_commands_that_do_not_apply() -> None:
    chat = Chat()
    for _ in range(3):
        chat.press("Không có")
    chat.say("bỏ qua")
    chat.say("bỏ qua")
    chat.say("Không có")  # not a table question: this is the answer
    chat.say("Không")
    assert chat.state.values["assessment"] == {"results": "Không có", "difficulties": "Không"}


def test_sum_equals_check() -> None:
    form = ReportForm(
        title="Thử",
        sections=[
            FormSection(
                id="people",
                title="Người tham gia",
                kind="fields",
                fields=[
                    FormField(id="total", label="Tổng", type="count", required=False),
                    FormField(id="male", label="Nam", type="count"),
                    FormField(id="female", label="Nữ", type="count"),
                ],
            )
        ],
        checks=[
            CrossCheck(
                kind="sum_equals", section="people", fields=["male", "female"], target="total"
            )
        ],
    )
    chat = Chat(form)
    chat.answer_row("100", "40", "50")
    assert "Tổng Nam, Nữ là 90, nhưng Tổng là 100. Xin nhập lại Tổng." in chat.reply.text
    chat.say("90")
    assert chat.mode() == "summary"
    chat.say("sửa 1")
    chat.say("bỏ qua")  # no total given: nothing to check, once the blanking is confirmed
    assert "«Tổng» đang là 90. Bỏ trống câu này (xóa 90)?" in chat.reply.text
    assert chat.state.values["people"]["total"] == 90
    chat.press("Có")
    assert chat.mode() == "summary"
    assert chat.say("gửi").submitted == FormData(
        values={"people": {"total": None, "male": 40, "female": 50}}
    )


def test_english_conversation() -> None:
    chat = Chat(lang="en")
    assert "Part 1/5" in chat.reply.text
    assert "None" in chat.labels()
    chat.say("back")
    assert "This is the first question." in chat.reply.text
    chat.press("None")
    chat.say("none")
    chat.say("none")
    chat.say("skip")
    chat.say("skip")
    chat.say("All good")
    chat.say("skip")
    chat.say("skip")
    assert chat.mode() == "summary"
    assert "Type «send»" in chat.reply.text
    assert chat.say("send").submitted is not None


def test_prompt_after_restart_and_state_fits() -> None:
    chat = Chat()
    chat.press("Lễ phát động")
    restored = FormState.from_json(chat.state.to_json())
    again = prompt(FORM, restored, lang="vi").text  # after a restart: the header, then the same
    assert again == "Phần 1/5 · Hoạt động\n" + chat.reply.text
    assert step(FORM, restored, FormInput.word("show"), lang="vi")[0] == restored
    assert state_fits(FORM, restored)
    smaller = FORM.model_copy(update={"sections": FORM.sections[1:]})
    assert not state_fits(smaller, restored)


def test_start_refuses_a_bad_draft_id() -> None:
    with pytest.raises(ValueError, match="draft_id"):
        start(FORM, draft_id="has space", lang="vi")


def test_quick_fill_and_describe_row() -> None:
    quick = FORM.quick[0]
    row = quick_fill(FORM, quick, "3 120 150")
    assert row == {"kind": "loa", "quantity": 3, "male": 120, "female": 150}
    described = describe_row(FORM, "media", row, "vi")
    assert t("forms.quick.understood", "vi", row=described) == (
        "Đã hiểu: Loa truyền thanh — 3 lượt, 120 nam, 150 nữ"
    )
    assert unusual_fields(FORM, "media", quick_fill(FORM, quick, "3 9000 1")) == ("male",)
    with pytest.raises(QuickFillError) as caught:
        quick_fill(FORM, quick, "3 120")
    assert quick_fill_error_text(caught.value, "vi") == (
        "Cú pháp: /nhanh truyenthong <Số lượng> <Nam> <Nữ>"
    )
    with pytest.raises(QuickFillError) as caught:
        quick_fill(FORM, quick, "3 -1 5")
    assert quick_fill_error_text(caught.value, "vi") == "Nam: Số không được âm."
    with pytest.raises(QuickFillError) as caught:
        quick_fill(FORM, quick, "0 10 10")
    assert "Số lượng phải lớn hơn 0" in quick_fill_error_text(caught.value, "vi")


def test_draft_expiry_helpers() -> None:
    updated = datetime(2025, 12, 1, 8, 0, tzinfo=VN_TZ)
    assert not draft_expired(updated, updated + timedelta(hours=71), 72)
    assert draft_expired(updated, updated + timedelta(hours=72), 72)
    assert not draft_expiry_warning_due(updated, updated + timedelta(hours=59), 72, warned=False)
    assert draft_expiry_warning_due(updated, updated + timedelta(hours=60), 72, warned=False)
    assert not draft_expiry_warning_due(updated, updated + timedelta(hours=61), 72, warned=True)
    assert not draft_expiry_warning_due(updated, updated + timedelta(hours=73), 72, warned=False)
    with pytest.raises(ValueError, match="timezone"):
        draft_expired(datetime(2025, 12, 1), updated, 72)  # noqa: DTZ001 - the point of the test
    assert t("forms.draft.expiry_warning", "vi", title=FORM.title, hours="12")


def test_summary_text_of_submitted_data() -> None:
    text = summary_text(FORM, EXPECTED, "en")
    assert text.startswith("Summary of the report:\n1. Hoạt động: Lễ phát động")
    assert "6. Kinh phí vận động: (blank)" in text


def test_form_messages_match_in_both_languages() -> None:
    vi = {k: v for k, v in catalogue("vi").items() if k.startswith("forms.")}
    en = {k: v for k, v in catalogue("en").items() if k.startswith("forms.")}
    assert set(vi) == set(en)
    assert all(placeholders(vi[k]) == placeholders(en[k]) for k in vi)


_VOCABULARY = [
    "1",
    "2",
    "3",
    "0",
    "9",
    "45",
    "50000",
    "1,5 triệu",
    "-2",
    "abc",
    "",
    "quay lại",
    "bỏ qua",
    "giữ nguyên",
    "không có",
    "có",
    "không",
    "gửi",
    "sửa 1",
    "sửa 4",
    "xóa",
    "hủy",
    "Tờ rơi",
    "Lễ phát động",
    "x" * 2001,
]


@settings(database=None, max_examples=150)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=60))
def test_no_input_sequence_breaks_the_machine(moves: list[tuple[bool, int]]) -> None:
    state, reply = start(FORM, draft_id="z", lang="vi")
    for press, pick in moves:
        if press and reply.choices:
            inp = FormInput.pressed(reply.choices[pick % len(reply.choices)].data)
        else:
            inp = FormInput.typed(_VOCABULARY[pick % len(_VOCABULARY)])
        state, reply = step(FORM, state, inp, lang="vi")
        assert FormState.from_json(state.to_json()) == state
        assert reply.text
        assert state_fits(FORM, state)
        if reply.submitted is not None:
            assert all(
                set(row) == {f.id for f in FORM.sections[i].fields}
                for i in range(3)
                for row in reply.submitted.tables[FORM.sections[i].id]
            )
