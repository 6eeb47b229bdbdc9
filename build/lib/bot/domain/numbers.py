"""Numbers as Vietnamese write them: «1.500.000», «1,5 triệu», «2 tr», «500k», «1tr5», «1 500 000».

Rules (the ambiguity is real, so they are spelled out):

* The dot is the thousands separator and the comma the decimal mark (Vietnamese usage).
* A dot followed by exactly three digits is a thousands separator: «1.500» = 1500,
  «1.500 triệu» = 1 500 triệu. A dot followed by another number of digits is a decimal point:
  «1.5 triệu» = 1 500 000 (people type the English way on phones), «1.5» alone is a fraction.
* Several dots (or several commas) must group digits by three: «1.500.000», «1,500,000».
* One comma is a decimal mark: «1,5 triệu» = 1 500 000. Without a unit, «1,500» could be 1,5 or
  1500, so it is refused as ambiguous (`forms.error.ambiguous`); «1,5» alone is a fraction.
* Both marks: the last one is the decimal mark, the other must group by three («1.500,5»).
* Spaces (also no-break spaces) between digit groups of three are thousands separators:
  «1 500 000». Two numbers that do not group that way («3 12») are refused.
* Units multiply: k / nghìn / ngàn = 10³, tr / triệu = 10⁶, tỷ / tỉ = 10⁹, trăm = 10²; they chain
  from large to small («1 triệu 500 nghìn», «2 tỷ 300 triệu», «5 trăm nghìn», «5 nghìn tỷ»).
* A bare number of one to three digits right after a unit continues it the way people say it:
  «1tr5» = «1 triệu 5» = 1 500 000, «1tr25» = 1 250 000, «1 triệu 500» = 1 500 000,
  «1tr05» = 1 050 000.
* Money may carry «đ», «đồng», «VND», «₫» at either end; a count may end with a noun such as
  «người», «lượt», «cuộc», «buổi», «bản», «sản phẩm».
* Refused: empty text, a minus sign or «âm» (negative), fractions (a count of 2,5, or 0,5 đồng),
  number words such as «một trăm» (we ask for digits: it avoids guessing at spelling and dialect),
  and anything above the cap (counts 10⁷, money 10¹³ by default).

Errors are `NumberError` carrying a message key (`forms.error.*`) and its fields.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from bot.domain.text import fold, normalize_text

COUNT_CAP = 10**7
MONEY_CAP = 10**13
_MAX_DIGITS = 18  # longer digit runs are refused before any arithmetic

ERR_EMPTY = "forms.error.empty"
ERR_NOT_A_NUMBER = "forms.error.not_a_number"
ERR_NEGATIVE = "forms.error.negative"
ERR_FRACTION = "forms.error.fraction"
ERR_TOO_LARGE = "forms.error.too_large"
ERR_WORDS = "forms.error.words"
ERR_AMBIGUOUS = "forms.error.ambiguous"


class NumberError(ValueError):
    """Text that is not an acceptable number; `key` is a message key, `fields` its placeholders."""

    def __init__(self, key: str, **fields: str) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


_UNITS = {
    "k": 1000,
    "nghin": 1000,
    "ngan": 1000,
    "tr": 10**6,
    "trieu": 10**6,
    "ty": 10**9,
    "ti": 10**9,
}
_HUNDRED = "tram"
_CURRENCY = {"d", "dong", "vnd", "₫"}
_COUNT_NOUNS = {
    "nguoi",
    "luot",
    "cuoc",
    "doan",
    "lan",
    "buoi",
    "ban",
    "to",
    "cai",
    "tin",
    "bai",
    "san",
    "pham",
    "sp",
    "chiec",
}
# Folded number words: if the text has no digit but one of these, we ask for digits.
_NUMBER_WORDS = {
    "khong",
    "mot",
    "hai",
    "ba",
    "bon",
    "tu",
    "nam",
    "lam",
    "sau",
    "bay",
    "tam",
    "chin",
    "muoi",
    "tram",
    "nghin",
    "ngan",
    "trieu",
    "ty",
    "ti",
    "linh",
    "le",
    "ruoi",
    "chuc",
}
_FULLWIDTH_PUNCT = {"，": ",", "．": ".", "－": "-", "＋": "+", "\u2212": "-", "\u2013": "-"}
_TOKEN = re.compile(r"(?P<num>\d+(?:[.,]\d+)*)|(?P<word>[a-z]+)|(?P<cur>₫)|(?P<space>\s+)|(?P<x>.)")


def _ascii_digits(text: str) -> str:
    """Map any decimal digit (full-width, Arabic-Indic …) to ASCII; superscripts stay as is."""
    out = []
    for ch in text:
        if ch.isdecimal() and not ch.isascii():
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(_FULLWIDTH_PUNCT.get(ch, ch))
    return "".join(out)


def _grouped(text: str, sep: str) -> bool:
    """True for digits grouped by three with `sep`: «1.500.000» (the head has 1-3 digits, not 0)."""
    parts = text.split(sep)
    head, rest = parts[0], parts[1:]
    return (
        1 <= len(head) <= 3
        and head != "0"
        and bool(rest)
        and all(len(p) == 3 and p.isdigit() for p in rest)
    )


def _numeral(token: str, has_unit: bool) -> Decimal:
    """The value of one digit run with separators, by the rules in the module docstring."""
    if len(re.sub(r"\D", "", token)) > _MAX_DIGITS:
        raise NumberError(ERR_TOO_LARGE)  # fields filled in by the caller
    dots, commas = token.count("."), token.count(",")
    if not dots and not commas:
        return Decimal(token)
    if dots and commas:
        mark = "." if token.rfind(".") > token.rfind(",") else ","
        other = "," if mark == "." else "."
        whole, frac = token.rsplit(mark, 1)
        if mark in whole or not _grouped(whole, other):
            raise NumberError(ERR_NOT_A_NUMBER)
        return Decimal(whole.replace(other, "") + "." + frac)
    sep = "." if dots else ","
    if dots + commas > 1:
        if not _grouped(token, sep):
            raise NumberError(ERR_NOT_A_NUMBER)
        return Decimal(token.replace(sep, ""))
    head, tail = token.split(sep)
    if len(tail) == 3 and head != "0":
        if sep == ".":
            return Decimal(head + tail)
        if not has_unit:
            raise NumberError(ERR_AMBIGUOUS, text=token, whole=head + tail)
    return Decimal(head + "." + tail)


def _tokens(folded: str) -> list[tuple[str, str]]:
    """(kind, text) pairs; digit groups separated by single spaces are joined («1 500 000»)."""
    raw: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(folded):
        kind = match.lastgroup or "x"
        raw.append((kind, match.group()))
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(raw):
        kind, text = raw[i]
        if kind == "num" and text.isdigit() and len(text) <= 3:
            j = i
            while (
                j + 2 < len(raw)
                and raw[j + 1][0] == "space"
                and raw[j + 2][0] == "num"
                and raw[j + 2][1].isdigit()
                and len(raw[j + 2][1]) == 3
            ):
                text += raw[j + 2][1]
                j += 2
            i = j
        if kind != "space":
            out.append((kind, text))
        i += 1
    return out


def _amount_tokens(text: str, *, money: bool) -> list[tuple[str, str]]:
    """The number and unit tokens of `text`, or the NumberError that explains why it is none."""
    cleaned = _ascii_digits(normalize_text(text))
    if not cleaned:
        raise NumberError(ERR_EMPTY)
    folded = fold(cleaned)
    has_digit = any(ch.isdigit() for ch in folded)
    if folded.startswith(("-", "am ")) and has_digit:
        raise NumberError(ERR_NEGATIVE)
    folded = folded.lstrip("+").rstrip(".!")
    tokens = _tokens(folded)
    if not has_digit:
        words = {t for k, t in tokens if k == "word"}
        raise NumberError(ERR_WORDS if words & _NUMBER_WORDS else ERR_NOT_A_NUMBER)
    tokens = _strip_surroundings(tokens, money=money)
    if not tokens or any(
        k not in {"num", "word"} or (k == "word" and t not in _UNITS and t != _HUNDRED)
        for k, t in tokens
    ):
        raise NumberError(ERR_NOT_A_NUMBER)
    return tokens


def _strip_surroundings(tokens: list[tuple[str, str]], *, money: bool) -> list[tuple[str, str]]:
    """Strip what may surround the amount: a currency mark (money) or a noun (count)."""
    if money:
        if tokens and (tokens[0][1] in _CURRENCY):
            tokens = tokens[1:]
        if tokens and (tokens[-1][1] in _CURRENCY):
            tokens = tokens[:-1]
    else:
        while tokens and tokens[-1][0] == "word" and tokens[-1][1] in _COUNT_NOUNS:
            tokens = tokens[:-1]
    return tokens


def _add_unit(
    total: Decimal, current: Decimal | None, unit: int, last_unit: int | None, previous_kind: str
) -> Decimal:
    """The total after a unit word («nghìn», «triệu» …) that follows `current` (or nothing)."""
    if current is None:
        # «5 nghìn tỷ»: a larger unit right after a smaller one multiplies the whole.
        if previous_kind == "word" and last_unit is not None and unit > last_unit:
            return total * unit
        raise NumberError(ERR_NOT_A_NUMBER)
    if last_unit is not None and unit >= last_unit:
        raise NumberError(ERR_NOT_A_NUMBER)
    return total + current * unit


def _add_rest(
    total: Decimal,
    current: Decimal | None,
    current_raw: str,
    last_unit: int | None,
    previous_kind: str,
) -> Decimal:
    """The total after the digits typed after the last unit word, if any."""
    if current is None:
        return total
    if last_unit is None:
        return total + current
    if current_raw.isdigit() and len(current_raw) <= 3 and previous_kind == "num":
        # «1tr5», «1 triệu 500»: the digits continue the last unit as decimals.
        decimals: Decimal = Decimal(current_raw) / (10 ** len(current_raw)) * last_unit
        return total + decimals
    raise NumberError(ERR_NOT_A_NUMBER)


def _combine(tokens: list[tuple[str, str]]) -> Decimal:
    """The value of numerals, «trăm» and unit words read left to right."""
    has_unit = any(k == "word" for k, _ in tokens)
    total = Decimal(0)
    current: Decimal | None = None
    current_raw = ""
    last_unit: int | None = None
    previous_kind = ""
    for kind, tok in tokens:
        if kind == "num":
            if current is not None:
                raise NumberError(ERR_NOT_A_NUMBER)
            current, current_raw = _numeral(tok, has_unit), tok
        elif tok == _HUNDRED:
            if current is None or previous_kind != "num":
                raise NumberError(ERR_NOT_A_NUMBER)
            current *= 100
        else:
            unit = _UNITS[tok]
            total = _add_unit(total, current, unit, last_unit, previous_kind)
            current = None
            last_unit = unit
        previous_kind = kind if kind == "num" else "word"
    return _add_rest(total, current, current_raw, last_unit, previous_kind)


def _parse(text: str, *, cap: int, money: bool) -> int:
    total = _combine(_amount_tokens(text, money=money))
    if total != total.to_integral_value():
        raise NumberError(ERR_FRACTION)
    value = int(total)
    if value > cap:
        raise NumberError(ERR_TOO_LARGE)
    return value


def _with_cap(text: str, cap: int, money: bool) -> int:
    try:
        return _parse(text, cap=cap, money=money)
    except NumberError as err:
        if err.key == ERR_TOO_LARGE:
            shown = format_vnd(cap) if money else format_count(cap)
            raise NumberError(ERR_TOO_LARGE, max=shown) from None
        raise


def parse_count(text: str, *, cap: int = COUNT_CAP) -> int:
    """A whole, non-negative count (sessions, people) typed in any usual Vietnamese way."""
    return _with_cap(text, cap, money=False)


def parse_money(text: str, *, cap: int = MONEY_CAP) -> int:
    """An amount in whole đồng: «1.500.000», «1,5 triệu», «2 tr», «500k», «1500000đ»."""
    return _with_cap(text, cap, money=True)


def format_count(n: int) -> str:
    """A count with dots between thousands: 1500 → «1.500»."""
    return f"{n:,}".replace(",", ".")


def format_vnd(n: int) -> str:
    """An amount in đồng: 1500000 → «1.500.000 đ»."""
    return f"{format_count(n)} đ"
