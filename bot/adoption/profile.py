"""The bot's profile texts from the campaign pack: what a resident reads before pressing Start."""

from __future__ import annotations

from bot.domain.campaign import CampaignPack, in_lang
from messages import DEFAULT_LANG, LANGUAGES, t

DESCRIPTION_MAX = 512  # Telegram Bot API setMyDescription
SHORT_DESCRIPTION_MAX = 120  # setMyShortDescription


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def profile_texts(pack: CampaignPack) -> dict[str, tuple[str, str]]:
    """Language code ("" for the default, Vietnamese) → (description, short description)."""
    info = pack.campaign
    out: dict[str, tuple[str, str]] = {}
    for lang in ("", *LANGUAGES):
        code = lang or DEFAULT_LANG
        title = in_lang(code, info.title, info.title_en)
        theme = in_lang(code, info.theme, info.theme_en)
        key = "adoption.profile_description" if theme else "adoption.profile_description_no_theme"
        fields: dict[str, object] = {"locality": info.locality, "title": title}
        if theme:
            fields["theme"] = theme
        description = _fit(t(key, code, **fields), DESCRIPTION_MAX)
        short = _fit(
            t("adoption.profile_short", code, locality=info.locality), SHORT_DESCRIPTION_MAX
        )
        out[lang] = (description, short)
    return out
