"""The shipped campaign packs and their loader: content rules, and file:line for every problem."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from bot.domain.campaign import CampaignPack, FormSection
from bot.domain.text import ZALO_MAX_TEXT
from messages.packs import (
    PACKS_DIR,
    PackError,
    Problem,
    check_pack,
    list_packs,
    load_pack,
    resolve_pack_path,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "packs"
SHIPPED = ["ky-lua-2025", "tam-duong-2024", "tran-lieu-2025", "ngok-bay-2025", "nam-gia-nghia-2026"]
# Rolled from a plan rather than taken from one; its national theme is not in the seeds.
ROLLED = ["ky-lua-2026"]
NATIONAL_NUMBERS = {"111", "113", "115"}


def all_packs() -> list[CampaignPack]:
    return [load_pack(name) for name in SHIPPED]


# ---- shipped packs ---------------------------------------------------------------------------


def test_list_packs_finds_the_five_plans_and_skips_libraries() -> None:
    summaries = list_packs()
    assert sorted(s.id for s in summaries) == sorted(SHIPPED + ROLLED)
    for summary in summaries:
        assert summary.file == PACKS_DIR / f"{summary.id}.toml"
        assert (summary.start.month, summary.start.day) == (11, 15)
        assert (summary.end.month, summary.end.day) == (12, 15)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_pack_loads_without_problems(name: str) -> None:
    assert check_pack(resolve_pack_path(name)) == []
    pack = load_pack(name)
    assert pack.campaign.id == name
    assert pack.window_days == 31
    assert all(pack.post_for(day) is not None for day in range(1, pack.window_days + 1))
    assert pack.campaign.theme_en
    assert pack.report_form is not None


def test_the_2026_pack_only_waits_for_its_national_theme() -> None:
    problems = check_pack(resolve_pack_path("ky-lua-2026"))
    assert [(p.severity, "theme_pending" in p.message) for p in problems] == [("warning", True)]
    pack = load_pack("ky-lua-2026")
    assert (pack.campaign.theme_pending, pack.campaign.theme) == (True, "")
    assert pack.campaign.title.endswith("năm 2026")
    assert pack.window_days == 31


def test_tam_duong_has_the_25_official_slogans_in_their_groups() -> None:
    pack = load_pack("tam-duong-2024")
    assert [(g.id, len(g.slogans)) for g in pack.slogan_groups] == [("a", 11), ("b", 10), ("c", 4)]
    a, b, c = (g.slogans for g in pack.slogan_groups)
    assert "Bình đẳng giới là thước đo của sự văn minh, tiến bộ và công bằng xã hội." in a
    assert a[0] == (
        "Hưởng ứng Tháng hành động vì bình đẳng giới và phòng ngừa, ứng phó với bạo lực trên cơ "
        "sở giới năm 2024."
    )
    assert "Im lặng không phải là cách để bảo vệ bản thân và người bị xâm hại." in b
    assert b[-1] == "Không phân biệt đối xử và bạo lực trên không gian mạng."
    assert c == [
        "Chia sẻ việc nhà, gia đình hạnh phúc.",
        "Việc nhà không của riêng ai.",
        "Mình là đàn ông, mình không gây bạo lực.",
        "Hãy chấm dứt bạo lực với phụ nữ và trẻ em gái.",
    ]
    every = [s for g in pack.slogan_groups for s in g.slogans]
    assert len(set(every)) == 25
    assert all(s == s.strip() and "  " not in s and "\n" not in s for s in every)
    assert not any("lự c" in s or "sư văn" in s for s in every)
    assert pack.deadlines[0].due == date(2024, 12, 10)
    assert pack.campaign.focal_agency == "Phòng Lao động - Thương binh và Xã hội"


def test_ky_lua_has_47_khoi_pho_and_its_deadline() -> None:
    pack = load_pack("ky-lua-2025")
    assert pack.campaign.theme == (
        "Bình đẳng giới và an toàn cho phụ nữ và trẻ em gái trong kỷ nguyên số"
    )
    assert pack.residential_groups.kind == "khối phố"
    assert len(pack.residential_groups.all_names()) == 47
    khoi = [a for a in pack.agencies if a.type == "residential_group"]
    assert [a.id for a in khoi] == [f"khoi-{n:02d}" for n in range(1, 48)]
    assert {a.type for a in pack.agencies} >= {
        "office",
        "service_center",
        "health_station",
        "school",
        "womens_union",
        "police",
        "front",
    }
    assert [d.due for d in pack.deadlines] == [date(2025, 12, 18)]
    assert pack.deadlines[0].due_at.isoformat() == "2025-12-18T00:00:00+07:00"


def test_nam_gia_nghia_carries_the_plans_targets_and_deadline() -> None:
    pack = load_pack("nam-gia-nghia-2026")
    targets = {t.id: (t.value, t.period) for t in pack.targets}
    assert targets == {
        "tin-bai-moi-quy": (4, "quarter"),
        "hoi-nghi-moi-nam": (2, "year"),
        "to-dan-pho-duoc-tuyen-truyen": (100, "year"),
        "kiem-tra-moi-nam": (1, "year"),
        "dau-moi-tiep-nhan": (100, "year"),
    }
    assert [d.due for d in pack.deadlines] == [date(2026, 11, 25)]
    assert pack.residential_groups.kind == "tổ dân phố"


def test_ngok_bay_keeps_trusted_addresses_without_invented_contacts() -> None:
    pack = load_pack("ngok-bay-2025")
    assert pack.residential_groups.kind == "thôn"
    assert [a.name for a in pack.trusted_addresses] == [
        "Địa chỉ tin cậy tại cộng đồng",
        "Nhà tạm lánh tại cộng đồng",
    ]
    assert all(a.where == "" and a.contact == "" for a in pack.trusted_addresses)
    assert "dân tộc thiểu số" in pack.campaign.note


def test_every_pack_offers_only_the_national_hotlines() -> None:
    for pack in all_packs():
        assert {h.number for h in pack.hotlines} == NATIONAL_NUMBERS
        assert all(h.name_en and h.note_en for h in pack.hotlines)


def test_pack_files_are_nfc() -> None:
    for path in sorted(PACKS_DIR.glob("*.toml")):
        assert unicodedata.is_normalized("NFC", path.read_text(encoding="utf-8")), path.name


def test_posts_are_nfc_within_limits_and_translated() -> None:
    for pack in all_packs():
        for post in pack.daily_posts:
            for text in (post.text, post.text_en):
                assert unicodedata.is_normalized("NFC", text)
                assert 300 <= len(text) <= 900 < ZALO_MAX_TEXT, (pack.campaign.id, post.day)
                assert text == text.strip()


_NUMBER_RUN = re.compile(r"\d(?:[\d .\-]*\d)?")


def test_posts_name_no_phone_number_but_111_113_115() -> None:
    for pack in all_packs():
        for post in pack.daily_posts:
            for text in (post.text, post.text_en):
                for run in _NUMBER_RUN.findall(text):
                    digits = re.sub(r"\D", "", run)
                    assert len(digits) < 3 or digits in NATIONAL_NUMBERS, (post.day, run)


def test_posts_are_year_neutral() -> None:
    for pack in all_packs():
        for post in pack.daily_posts:
            assert not re.search(r"\b20\d\d\b", post.text + post.text_en), post.day


def _sections(pack: CampaignPack) -> list[FormSection]:
    assert pack.report_form is not None
    return pack.report_form.sections


def test_report_form_has_the_outlines_sections_and_shortcuts() -> None:
    pack = load_pack("ky-lua-2025")
    form = pack.report_form
    assert form is not None
    assert [s.id for s in form.sections] == [
        "activities",
        "media",
        "products",
        "budget",
        "assessment",
    ]
    fields = {s.id: [f.id for f in s.fields] for s in form.sections}
    assert fields["activities"] == ["kind", "sessions", "male", "female", "level"]
    assert fields["media"] == ["kind", "quantity", "male", "female", "level"]
    assert fields["products"] == ["kind", "quantity", "male", "female", "level"]
    assert fields["budget"] == ["state_budget", "mobilised"]
    assert fields["assessment"] == ["results", "difficulties", "recommendations"]
    by_id = {s.id: {f.id: f for f in s.fields} for s in form.sections}
    assert by_id["activities"]["sessions"].label == "Số cuộc/đoàn"
    assert by_id["activities"]["sessions"].typical_max == 50
    assert not by_id["budget"]["state_budget"].required
    assert by_id["assessment"]["results"].required
    assert not by_id["assessment"]["recommendations"].required
    assert {(c.kind, c.section, c.target) for c in form.checks} >= {
        ("requires_positive", "activities", "sessions")
    }
    quick = {q.alias: (q.section, q.fields, q.preset) for q in form.quick}
    assert quick == {
        "truyenthong": ("media", ["quantity", "male", "female"], {}),
        "hoatdong": ("activities", ["sessions", "male", "female"], {}),
        "sanpham": ("products", ["quantity", "male", "female"], {}),
    }


def test_district_form_differs_from_the_commune_form_only_in_levels() -> None:
    commune = _sections(load_pack("ky-lua-2025"))
    district = _sections(load_pack("tam-duong-2024"))
    assert len(commune) == len(district)
    for a, b in zip(commune, district, strict=True):
        assert [f for f in a.fields if f.id != "level"] == [f for f in b.fields if f.id != "level"]
    levels = {c.label for s in district for f in s.fields if f.id == "level" for c in f.choices}
    assert "Cấp huyện" in levels


# ---- the loader ------------------------------------------------------------------------------


def test_resolve_pack_path_accepts_an_id_or_a_path() -> None:
    assert resolve_pack_path("ky-lua-2025") == PACKS_DIR / "ky-lua-2025.toml"
    assert resolve_pack_path(str(FIXTURES / "good.toml")) == (FIXTURES / "good.toml").resolve()
    with pytest.raises(PackError, match=r"no campaign pack 'khong-co'.*known: ky-lua-2025"):
        resolve_pack_path("khong-co")
    with pytest.raises(PackError):
        resolve_pack_path(str(FIXTURES / "absent.toml"))


def test_problem_reads_like_a_compiler_message() -> None:
    problem = Problem(PACKS_DIR / "ky-lua-2025.toml", 123, "daily_posts[4].text: too long")
    assert str(problem) == "ky-lua-2025.toml:123: daily_posts[4].text: too long"
    assert str(Problem(Path("/x/p.toml"), None, "bad")) == "p.toml: bad"


def test_load_pack_raises_with_every_problem() -> None:
    with pytest.raises(PackError) as caught:
        load_pack(str(FIXTURES / "many-problems.toml"))
    assert len(caught.value.problems) == 4
    assert "many-problems.toml:18: delivery.hour" in str(caught.value)


def test_loader_normalises_nfd_text(tmp_path: Path) -> None:
    text = (FIXTURES / "good.toml").read_text(encoding="utf-8")
    path = tmp_path / "nfd.toml"
    path.write_text(unicodedata.normalize("NFD", text), encoding="utf-8")
    pack = load_pack(str(path))
    assert pack.campaign.locality == "Phường Thử"
    assert unicodedata.is_normalized("NFC", pack.campaign.locality)


_EXPECT = re.compile(r"\s#\sexpect:\s")


def _expectations(path: Path) -> list[tuple[str, int, str]]:
    """(file name, line, text) for each «# expect: text» marker at the end of a line of `path`."""
    found: list[tuple[str, int, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for text in _EXPECT.split(line)[1:]:
            found.append((path.name, number, text.strip()))
    return found


def _fixture_files(path: Path) -> list[Path]:
    """The fixture and the fixture libraries it includes (their markers count too)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError:
        return [path]
    included = [FIXTURES / f"{name}.toml" for name in data.get("include", [])]
    return [path, *(p for p in included if p.is_file())]


BAD_FIXTURES = sorted(
    p.name for p in FIXTURES.glob("*.toml") if not p.name.startswith(("lib-", "good"))
)


def test_fixture_set_covers_the_required_cases() -> None:
    assert {
        "window-backwards.toml",
        "delivery-hour.toml",
        "post-too-long.toml",
        "posts-empty.toml",
        "missing-day.toml",
        "unknown-key.toml",
        "duplicate-ids.toml",
        "syntax-error.toml",
        "all-at-once.toml",
        "deadline-bounds.toml",
        "date-as-text.toml",
        "theme-pending.toml",
    } <= set(BAD_FIXTURES)


def test_every_problem_is_said_in_plain_vietnamese_and_english() -> None:
    problems = check_pack(FIXTURES / "all-at-once.toml")
    assert len(problems) == 5
    assert all(p.message_vi and p.message_vi != p.message for p in problems)
    text = "\n".join(p.describe() for p in problems)
    assert "có phải ý bạn là «focal_agency»?" in text
    assert "hãy viết start = 2025-11-17 (năm-tháng-ngày)" in text
    assert "giờ gửi 22:00 nằm trong giờ yên lặng (21:00–07:00)" in text
    assert "end phải từ 17/11/2025 trở đi" in text
    assert "Input should" not in text
    assert "Value error" not in text


def test_a_warning_alone_does_not_stop_the_pack() -> None:
    problems = check_pack(FIXTURES / "theme-pending.toml")
    assert [p.severity for p in problems] == ["warning"]
    pack = load_pack(str(FIXTURES / "theme-pending.toml"))
    assert pack.campaign.theme_pending
    assert pack.campaign.theme == ""


def test_an_empty_theme_needs_theme_pending(tmp_path: Path) -> None:
    text = (FIXTURES / "theme-pending.toml").read_text(encoding="utf-8")
    path = tmp_path / "p.toml"
    for pending in ("theme_pending = false", ""):  # said false, or left out
        path.write_text(text.replace("theme_pending = true", pending), "utf-8")
        problems = check_pack(path)
        assert [p.severity for p in problems] == ["error"]
        assert "theme_pending = true" in problems[0].message


def test_good_fixture_has_no_problem() -> None:
    assert check_pack(FIXTURES / "good.toml") == []


@pytest.mark.parametrize("name", BAD_FIXTURES)
def test_bad_pack_reports_each_problem_at_its_line(name: str) -> None:
    path = FIXTURES / name
    expected = [e for f in _fixture_files(path) for e in _expectations(f)]
    assert expected, f"{name} marks no expected problem"
    problems = check_pack(path)
    got = [(p.file.name, p.line, str(p)) for p in problems]
    assert len(problems) == len(expected), got
    for file_name, line, text in expected:
        assert any(f == file_name and n == line and text in message for f, n, message in got), (
            f"expected {file_name}:{line}: …{text}… in {got}"
        )


def test_packs_without_their_own_slogans_carry_the_national_groups_without_a_year() -> None:
    tam_duong = load_pack("tam-duong-2024")
    official = {s for g in tam_duong.slogan_groups for s in g.slogans}
    for name in ("ky-lua-2025", "tran-lieu-2025", "ngok-bay-2025", "nam-gia-nghia-2026"):
        pack = load_pack(name)
        assert [(g.id, len(g.slogans)) for g in pack.slogan_groups] == [
            ("a", 10),
            ("b", 10),
            ("c", 4),
        ]
        every = [s for g in pack.slogan_groups for s in g.slogans]
        assert set(every) <= official  # verbatim from the official list
        assert not any("năm 20" in s for s in every)
