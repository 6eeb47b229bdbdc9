"""Reading the input: typed words and numbers, button data, and the options each question offers.

`options(form, state)` lists the actions the current question offers (answer choices first, then
«giữ nguyên», «bỏ qua», «Không có», «quay lại» …); the buttons and typed numbers are both read from
it, so nothing is rendered to map «2» to a choice.

Buttons carry `f|<draft id>|<nonce>|<action>`; the nonce grows whenever the state changes, so a
press on an older message is recognised and answered without touching the draft.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.domain.campaign import ReportForm
from bot.domain.forms.navigation import delete_allowed, none_allowed
from bot.domain.forms.state import MAX_EDIT_BUTTONS, Draft, FormInput, FormState
from bot.domain.forms.summary import draft_data, items
from bot.domain.text import fold, normalize_text

BUTTON_PREFIX = "f"

# ---- words people type -------------------------------------------------------------------------

_WORDS: dict[str, frozenset[str]] = {
    "back": frozenset({"quay lai", "tro lai", "lui lai", "back", "<"}),
    "skip": frozenset({"bo qua", "skip", "bo trong"}),
    "cancel": frozenset({"huy", "huy bo", "huy ban nhap", "cancel"}),
    "keep": frozenset({"giu nguyen", "giu", "keep", "="}),
    "none": frozenset({"khong co", "khong co gi", "none"}),
    "send": frozenset({"gui", "gui di", "nop", "gui bao cao", "send", "submit"}),
    "delete": frozenset({"xoa", "xoa dong", "xoa dong nay", "delete"}),
    "show": frozenset({"xem", "show"}),
    "pause": frozenset({"tam dung", "tam nghi", "de sau", "thoat", "pause", "later"}),
    "yes": frozenset({"co", "c", "yes", "y", "ok", "dung", "dong y", "chac chan", "vang", "u"}),
    "no": frozenset({"khong", "k", "ko", "no", "n", "sai"}),
}
_COMMANDS = {
    "back": "back",
    "quaylai": "back",
    "skip": "skip",
    "boqua": "skip",
    "cancel": "cancel",
    "huy": "cancel",
    "keep": "keep",
    "none": "none",
    "send": "send",
    "gui": "send",
    "show": "show",
    "xem": "show",
    "tamdung": "pause",
    "pause": "pause",
}
_EDIT = re.compile(r"^(?:sua|edit)(?: muc)? ?(\d{1,3})(?: (.+))?$")
_ANSWERS = ("yes", "no")  # with the «cN» choices: what a typed number may pick


def _word(folded: str) -> str | None:
    for action, words in _WORDS.items():
        if folded in words:
            return action
    return None


def typed_word(text: str) -> str | None:
    """The form word a whole message is («có» → "yes", «hủy» → "cancel"), or None."""
    return _word(fold(normalize_text(text)).strip(" .!"))


# ---- what the current question offers ----------------------------------------------------------


def _filling_options(form: ReportForm, state: FormState) -> tuple[tuple[str, ...], bool]:
    section = form.sections[state.section]
    fld = section.fields[state.field]
    if state.pending is not None or state.clearing:
        return ("yes", "no"), True
    d = Draft.of(state)
    actions = [f"c{i}" for i in range(len(fld.choices))] if fld.type == "choice" else []
    entered = d.current_row(section).get(fld.id, None) is not None
    if fld.id in d.current_row(section):
        actions.append("keep")
    if not fld.required and not entered:
        actions.append("skip")
    if none_allowed(form, d):
        actions.append("none")
    if delete_allowed(form, d):
        actions.append("delete")
    if state.editing is None and _only_optional_left(form, state):
        actions.append("send")  # «Xong»: the rest is optional, straight to the summary
    actions.append("back")
    return tuple(actions), fld.type == "choice"


def _only_optional_left(form: ReportForm, state: FormState) -> bool:
    """True at an optional question of the last section after which every question is optional."""
    section = form.sections[state.section]
    return (
        state.section == len(form.sections) - 1
        and section.kind == "fields"
        and not any(f.required for f in section.fields[state.field :])
    )


def options(form: ReportForm, state: FormState) -> tuple[tuple[str, ...], bool]:
    """The current question's actions in button order, and whether a typed «N» picks the Nth."""
    if state.mode == "summary":
        count = min(len(items(form, draft_data(form, state))), MAX_EDIT_BUTTONS)
        return ("send", *(f"e{i}" for i in range(1, count + 1)), "cancel"), False
    if state.mode == "confirm_cancel":
        return ("yes", "no"), True
    if state.mode in ("submitted", "cancelled"):
        return (), False
    if state.mode == "more_rows":  # a kind pressed here starts the next row with it
        first = form.sections[state.section].fields[0]
        kinds = [f"c{i}" for i in range(len(first.choices))] if first.type == "choice" else []
        return ("yes", "no", *kinds, "back"), True
    if state.mode == "pick_field":
        fields = form.sections[state.section].fields
        return (*(f"f{i}" for i in range(len(fields))), "delete", "back"), True
    return _filling_options(form, state)


def button_data(state: FormState, action: str) -> str:
    """The data of the button for `action` on the current question (≤ 64 bytes)."""
    return f"{BUTTON_PREFIX}|{state.draft_id}|{state.nonce}|{action}"


def is_form_button(data: str) -> bool:
    """True if a button's callback data belongs to the form engine."""
    return data.startswith(BUTTON_PREFIX + "|")


# ---- decoding ----------------------------------------------------------------------------------


def _split_action(action: str) -> tuple[str, str]:
    if action.startswith("c") and action[1:].isdigit():
        return "choice", action[1:]
    if action.startswith("e") and action[1:].isdigit():
        return "edit", action[1:]
    if action.startswith("f") and action[1:].isdigit():
        return "field", action[1:]
    return action, ""


def _decode_button(state: FormState, data: str) -> tuple[str, str] | Literal["stale"]:
    parts = data.split("|")
    if len(parts) != 4 or parts[0] != BUTTON_PREFIX:
        return "stale"
    _, draft_id, nonce, action = parts
    if draft_id != state.draft_id or nonce != str(state.nonce):
        return "stale"
    return _split_action(action)


def _allowed_words(form: ReportForm, state: FormState) -> set[str]:
    """In a question, only the words that apply here are commands; «không có», «gửi» or «có»
    can be a real answer to a text question."""
    actions, _ = _filling_options(form, state)
    allowed = {"back", "skip", "cancel", "show", "pause"}
    fld = form.sections[state.section].fields[state.field]
    if fld.type != "text":  # «không có» explained when refused, rather than read as a wrong
        allowed |= {"none", "send"}  # answer; «gửi» jumps to what is missing, then the summary
    return allowed | (set(actions) & {"keep", "none", "delete"})


def numbered_actions(actions: tuple[str, ...]) -> tuple[str, ...]:
    """The actions a typed number may pick: answers (choices, fields, yes/no), in order."""
    return tuple(a for a in actions if a in _ANSWERS or (a[0] in "cf" and a[1:].isdigit()))


def _numbered(form: ReportForm, state: FormState, folded: str) -> tuple[str, str] | None:
    """A typed «N» picks the Nth answer choice, never a navigation button (5 at a 4-option
    question is refused, not «Quay lại»)."""
    actions, numbered = options(form, state)
    if not numbered:
        return None
    answers = numbered_actions(actions)
    index = int(folded)
    if 1 <= index <= len(answers):
        return _split_action(answers[index - 1])
    if state.pending is None:
        return "bad_number", folded
    return None  # «Bạn chắc chắn số 500?» answered «45»: a corrected figure, not a choice number


def _edit(text: str, folded: str) -> tuple[str, str] | None:
    """«sửa 2», «sửa 2 nữ», «sửa 2 nữ 150»: the item and the rest, as typed."""
    match = _EDIT.match(folded)
    if match is None:
        return None
    if match.group(2) is None:
        return "edit", match.group(1)
    skip = len(folded[: match.start(2)].split())
    return "edit", f"{match.group(1)} {' '.join(text.split()[skip:])}"


def _decode_typed(form: ReportForm, state: FormState, raw: str) -> tuple[str, str]:
    text = normalize_text(raw)
    folded = fold(text)
    if folded.isdigit() and len(folded) <= 3:
        picked = _numbered(form, state, folded)
        if picked is not None:
            return picked
    edit = _edit(text, folded) if state.mode == "summary" else None
    if edit is not None:
        return edit
    word = _word(folded)
    if word is None:
        return "value", text
    if state.mode == "filling" and state.pending is None and not state.clearing:
        return (word, "") if word in _allowed_words(form, state) else ("value", text)
    return word, ""


def decode(
    form: ReportForm, state: FormState, inp: FormInput
) -> tuple[str, str] | Literal["stale"]:
    """The input as (action, argument); action «value» carries the typed text."""
    if inp.choice_data is not None:
        return _decode_button(state, inp.choice_data)
    if inp.command is not None:
        return _COMMANDS.get(fold(inp.command).lstrip("/"), "unknown"), ""
    return _decode_typed(form, state, inp.text or "")
