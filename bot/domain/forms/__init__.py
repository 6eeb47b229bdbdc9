"""The report form as a pure state machine: one question at a time, as a function of (state, input).

Modules, along the engine's seams:
- `state`: the saved `FormState` (JSON), the input, the submitted `FormData`, notes and refusals
  as message keys, and the mutable `Draft` one step edits;
- `navigation`: entering sections, the next question, one question back;
- `checks`: cross-checks between the fields of a row;
- `answers`: parsing and storing typed answers;
- `summary`: the numbered summary items, «sửa N» and submitting;
- `quick`: `/nhanh` rows and the draft's age;
- `decode`: typed words and numbers, button data, the options each question offers;
- `step`: the per-mode handlers and one turn.

No I/O, no clock, no message catalogue and no channel types here: the reporting feature renders
(bot.reporting.form_render).

Flow: every section in order; a table section asks its fields row by row («Không có» at the very
first question leaves the table empty; after each row «Thêm … khác?»); a fields section asks each
field once. Then a numbered summary: «gửi» submits, «sửa N» walks item N again (the current value
shown, «giữ nguyên» keeps it) and comes back, «hủy» asks before dropping the draft. «quay lại»
steps back one field (across rows and sections); «bỏ qua» skips an optional field.
"""

from bot.domain.forms.decode import (
    button_data,
    is_form_button,
    numbered_actions,
    options,
    typed_word,
)
from bot.domain.forms.quick import (
    QuickFillError,
    QuickLine,
    draft_expired,
    draft_expiry_warning_due,
    match_kind,
    quick_fill,
    quick_row,
    read_quick_line,
    section_by_id,
    unusual_fields,
)
from bot.domain.forms.state import (
    DEFAULT_TEXT_MAX,
    FormData,
    FormInput,
    FormState,
    Note,
    Row,
    Value,
)
from bot.domain.forms.step import Outcome, start, state_fits, step
from bot.domain.forms.summary import draft_data, items

__all__ = [
    "DEFAULT_TEXT_MAX",
    "FormData",
    "FormInput",
    "FormState",
    "Note",
    "Outcome",
    "QuickFillError",
    "QuickLine",
    "Row",
    "Value",
    "button_data",
    "draft_data",
    "draft_expired",
    "draft_expiry_warning_due",
    "is_form_button",
    "items",
    "match_kind",
    "numbered_actions",
    "options",
    "quick_fill",
    "quick_row",
    "read_quick_line",
    "section_by_id",
    "start",
    "state_fits",
    "step",
    "typed_word",
    "unusual_fields",
]
