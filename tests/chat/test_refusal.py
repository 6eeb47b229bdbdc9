"""The one refusal model: a key and fields, rendered at the edge in the person's language."""

from __future__ import annotations

import pytest

from bot.chat.refusal import Refusal, Refused
from bot.reporting.officials import InviteError


def test_a_refusal_renders_in_each_language_and_takes_edge_fields() -> None:
    refusal = Refusal("reports.amend_closed", {"due": "15/12/2025"})
    full = refusal.with_fields(agency="Công an phường")
    assert refusal.fields == {"due": "15/12/2025"}  # with_fields makes a new refusal
    assert "Đã quá hạn (trước ngày 15/12/2025) và «Công an phường»" in full.render("vi")
    assert "The deadline (before 15/12/2025) has passed" in full.render("en")


def test_refused_carries_the_refusal_and_reads_as_vietnamese() -> None:
    with pytest.raises(Refused) as err:
        raise InviteError(Refusal("officials.cli.agency_unknown", {"text": "nowhere"}))
    assert err.value.refusal.key == "officials.cli.agency_unknown"
    assert "Không tìm thấy đơn vị «nowhere»" in str(err.value)
    # a refusal still missing a field the edge adds reads as its key rather than failing
    assert str(Refused(Refusal("reports.amend_closed", {"due": "x"}))) == "reports.amend_closed"
