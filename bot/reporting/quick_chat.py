"""`/nhanh`: one table row from one line, echoed as understood and added to the draft; after a
sent report it asks before opening an amendment (a new version).

While that question is open it owns typed answers («có», «không», «1», «2», «hủy»); anything else
typed, a photo or another feature's button is answered inside the question (what it expects, how
to leave), never by the residents' flow."""

from __future__ import annotations

import json

from bot.channels.base import Choice, InboundKind
from bot.chat.callbacks import prefix_of
from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.domain.campaign import CampaignPack, ReportForm
from bot.domain.forms import (
    FormState,
    QuickFillError,
    Row,
    quick_row,
    read_quick_line,
    typed_word,
    unusual_fields,
)
from bot.domain.numbers import NumberError
from bot.reporting import drafts
from bot.reporting import reports as service
from bot.reporting.buttons import QuickAnswer, QuickButton
from bot.reporting.form_render import describe_row, prompt, quick_fill_error_text
from bot.storage.models import Official, ReportDraft
from messages import t

QUICK_FLOW = "quick"
YES, NO = QuickAnswer.YES, QuickAnswer.NO
# Typed words that answer the question: yes opens the amendment, the others leave it.
_TYPED = {"yes": YES, "no": NO, "cancel": NO, "pause": NO}


class QuickRows:
    """The `/nhanh` command and its «open an amendment?» question."""

    def __init__(self, pack: CampaignPack) -> None:
        self.pack = pack

    def register(self, router: Router) -> None:
        """Add /nhanh, its [Có]/[Không] buttons and its open question to the router."""
        router.command(("nhanh", "quick"), self.quick)
        router.choice(QuickButton, self.on_quick_confirm)
        # «hủy», «dừng» … typed at the question answer it (not the residents' bare-word /huy)
        router.flow(QUICK_FLOW, self.on_quick_text, words=False)
        router.mode(QUICK_FLOW, _claims, self.on_other)

    async def quick(self, turn: Turn) -> None:
        """/nhanh [shortcut] [kind] n1 n2 …: understand one table row, say what was understood,
        and add it to the draft (after a sent report, only once the person says so)."""
        found = await drafts.reporter(self.pack, turn)
        if found is None:
            return
        official, agency, form = found
        if not turn.inbound.args.strip():
            turn.say_text(self._quick_usage(turn, form))
            return
        try:
            line = read_quick_line(form, turn.inbound.args)
            row = quick_row(form, line)
        except QuickFillError as err:
            if err.key == "forms.quick.unknown":
                unknown = turn.text("reports.quick.unknown", **err.fields)
                turn.say_text(f"{unknown}\n{self._quick_usage(turn, form)}")
            else:
                turn.say_text(quick_fill_error_text(err, turn.lang))
            return
        except NumberError as err:
            turn.say_text(t(err.key, turn.lang, **err.fields))
            return
        notes: list[str] = []
        live = await drafts.live_draft(turn, official, form, notes)
        if live is not None:
            state = service.add_row(live[1], line.quick.section, row)
            await self._add_quick(
                turn,
                official,
                form,
                live[0].deadline_id,
                state,
                live[0],
                row,
                line.quick.section,
                notes,
            )
            return
        current = await drafts.current_report(self.pack, turn, official)
        if current is None:
            return
        deadline, sent = current
        if sent.latest is not None and not service.is_on_time(deadline, turn.now):
            turn.say("reports.amend_closed", agency=agency.name, due=service.format_due(deadline))
            return
        if sent.latest is not None:
            # A report was sent: a new draft (a new version) only if the person says so.
            nonce = turn.set_flow(
                QUICK_FLOW, "confirm", {"section": line.quick.section, "row": row}
            )
            understood = describe_row(form, line.quick.section, row, turn.lang)
            turn.say(
                "reports.quick.after_sent",
                agency=agency.name,
                version=sent.latest.version,
                row=understood,
                choices=_yes_no(turn, nonce),
                columns=2,
                single_use=True,
            )
            return
        state = service.quick_state(line.quick.section, row, turn.randomness)
        await self._add_quick(
            turn, official, form, deadline.id, state, None, row, line.quick.section, notes
        )

    async def on_quick_confirm(self, turn: Turn) -> None:
        """[Có]/[Không] after «/nhanh» following a sent report: open the amendment, or not."""
        button = QuickButton.unpack(turn.inbound.choice_data)
        if turn.flow != QUICK_FLOW or button is None or button.nonce != turn.state.nonce:
            turn.say("residents.stale_button")
            return
        await self._answer(turn, button.answer)

    async def on_quick_text(self, turn: Turn) -> None:
        """Text typed while «open an amendment?» is open: «có»/«không» (or «hủy») answer it;
        anything else is told what the question expects."""
        answer = _TYPED.get(typed_word(turn.inbound.text) or "")
        if answer is None:
            await self.on_other(turn)
            return
        await self._answer(turn, answer)

    async def on_other(self, turn: Turn) -> None:
        """Not an answer to the open question (a greeting, «5», a photo, another button): ask
        it again, with how to leave."""
        data = turn.flow_data
        found = await drafts.reporter(self.pack, turn)
        if found is None or "section" not in data:
            drafts.leave(turn)
            return
        form = found[2]
        row = describe_row(form, str(data["section"]), dict(data["row"]), turn.lang)
        nonce = turn.state.nonce or ""
        choices = _yes_no(turn, nonce)
        turn.say("reports.quick.pending", row=row, choices=choices, columns=2, single_use=True)

    async def _answer(self, turn: Turn, answer: QuickAnswer) -> None:
        data = json.loads(turn.state.data or "{}")
        drafts.leave(turn)
        if answer is not YES:
            turn.say("reports.quick.not_added")
            return
        found = await drafts.reporter(self.pack, turn)
        deadline = service.current_deadline(self.pack, turn.now)
        if found is None or deadline is None:
            return
        official, _agency, form = found
        assert official.agency_id is not None
        sent = await service.agency_report(
            turn.session, agency_id=official.agency_id, deadline_id=deadline.id
        )
        latest = sent.latest_data()
        section, row = str(data["section"]), dict(data["row"])
        randomness = turn.randomness
        if latest is not None:
            base = service.amend_state(latest, randomness)
        else:
            base = service.quick_state(section, {}, randomness)
        state = service.add_row(base, section, row)
        await self._add_quick(turn, official, form, deadline.id, state, None, row, section, [])

    async def _add_quick(
        self,
        turn: Turn,
        official: Official,
        form: ReportForm,
        deadline_id: str,
        state: FormState,
        draft: ReportDraft | None,
        row: Row,
        section_id: str,
        notes: list[str],
    ) -> None:
        """Save the draft holding a quick row; echo the row and what is still missing."""
        notes.append(
            turn.text("reports.quick.added", row=describe_row(form, section_id, row, turn.lang))
        )
        section = next(s for s in form.sections if s.id == section_id)
        missing = [f.label for f in section.fields if f.id not in row]
        if missing:
            notes.append(turn.text("reports.quick.missing", labels=", ".join(missing)))
        unusual = unusual_fields(form, section_id, row)
        if unusual:
            labels = ", ".join(f.label for f in section.fields if f.id in unusual)
            notes.append(turn.text("reports.quick.unusual", labels=labels))
        await drafts.save(turn, official, deadline_id, state, draft)
        drafts.send(turn, notes, prompt(form, state, lang=turn.lang))

    def _quick_usage(self, turn: Turn, form: ReportForm) -> str:
        lines = []
        for q in form.quick:
            section = next(s for s in form.sections if s.id == q.section)
            labels = {f.id: f.label for f in section.fields}
            fields = " ".join(f"<{labels[name]}>" for name in q.fields)
            lines.append(turn.text("reports.quick.line", alias=q.alias, fields=fields))
        return turn.text("reports.quick.usage", lines="\n".join(lines))


def _yes_no(turn: Turn, nonce: str) -> list[Choice]:
    return [
        turn.choice("forms.button.yes", QuickButton(answer=YES, nonce=nonce).pack()),
        turn.choice("forms.button.no", QuickButton(answer=NO, nonce=nonce).pack()),
    ]


def _claims(turn: Turn) -> bool:
    """A photo, a sticker or another feature's button while the question is open: it answers.
    Commands keep their meaning (a new /nhanh, /baocao, /trogiup …)."""
    inbound = turn.inbound
    if inbound.kind is InboundKind.OTHER:
        return True
    if inbound.kind is InboundKind.CHOICE:
        return prefix_of(inbound.choice_data or "") != QuickButton.__prefix__
    return False
