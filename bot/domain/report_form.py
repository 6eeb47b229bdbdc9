"""The report form of a campaign pack, declared as data (seed 002's ĐỀ CƯƠNG BÁO CÁO)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.pack_issues import Issue, Loc, raise_issues, repeated_ids


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FieldType = Literal["choice", "count", "money", "text"]


class ChoiceOption(_Model):
    """One option of a choice field."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,31}$")
    label: str = Field(min_length=1)
    # Other names `/nhanh` accepts for this option, matched whole and accent-insensitive
    # («loa» for «Loa truyền thanh»); the label and each of its «/»-separated parts count too.
    aliases: list[str] = Field(default_factory=list)


class FormField(_Model):
    """One question of the report form."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str = Field(min_length=1)
    type: FieldType
    required: bool = True
    min: int | None = None
    max: int | None = None
    typical_max: int | None = None  # above this, ask for confirmation instead of refusing
    max_length: int | None = Field(default=None, ge=1, le=10000)
    choices: list[ChoiceOption] = Field(default_factory=list)
    hint: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        issues: list[tuple[Loc, str]] = []
        if self.type == "choice" and not self.choices:
            text = f"field {self.id}: a choice field needs choices"
            issues.append((("choices",), Issue("choice_needs_choices", text, field=self.id)))
        if self.type != "choice" and self.choices:
            text = f"field {self.id}: only a choice field has choices"
            issues.append((("choices",), Issue("choices_only_choice", text, field=self.id)))
        if self.min is not None and self.max is not None and self.min > self.max:
            text = f"field {self.id}: min is above max"
            issues.append((("min",), Issue("min_above_max", text, field=self.id)))
        issues += [
            (("choices", *loc), message)
            for loc, message in repeated_ids([c.id for c in self.choices], "choice")
        ]
        raise_issues(issues)
        return self


class FormSection(_Model):
    """A section: a table of repeatable rows, or a single set of fields."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    title: str = Field(min_length=1)
    short_title: str = ""  # for headers and the summary on a phone («Hoạt động»); else the title
    kind: Literal["table", "fields"]
    row_label: str = ""  # for tables: what one row is («hoạt động», «sản phẩm»)
    max_rows: int = Field(default=30, ge=1, le=200)
    fields: list[FormField] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, value: list[FormField]) -> list[FormField]:
        raise_issues(repeated_ids([f.id for f in value], "field"))
        return value


class CrossCheck(_Model):
    """A rule across fields of one row or section."""

    kind: Literal["sum_equals", "requires_positive"]
    section: str
    fields: list[str] = Field(min_length=1)  # sum_equals: parts; requires_positive: if any > 0 …
    target: str  # sum_equals: the total field; requires_positive: … this must be > 0


class QuickForm(_Model):
    """A one-line shortcut: `/nhanh <alias> n1 n2 …` fills one table row."""

    alias: str = Field(pattern=r"^[a-z0-9]{2,32}$")
    section: str
    preset: dict[str, str] = Field(default_factory=dict)  # field id → choice id
    fields: list[str] = Field(min_length=1)  # the numbers, in order


class ReportForm(_Model):
    """The report an agency owes, declared as data."""

    title: str = Field(min_length=1)
    draft_ttl_hours: int = Field(default=72, ge=1, le=24 * 60)
    sections: list[FormSection] = Field(min_length=1)
    checks: list[CrossCheck] = Field(default_factory=list)
    quick: list[QuickForm] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> ReportForm:
        issues: list[tuple[Loc, str]] = [
            (("sections", *loc), message)
            for loc, message in repeated_ids([s.id for s in self.sections], "section")
        ]
        sections: dict[str, FormSection] = {}
        for declared in self.sections:
            sections.setdefault(declared.id, declared)  # a repeat is reported above
        for index, check in enumerate(self.checks):
            section = sections.get(check.section)
            if section is None:
                text = f"unknown section {check.section!r}"
                issue = Issue("unknown_section", text, section=check.section)
                issues.append((("checks", index, "section"), issue))
                continue
            names = {f.id for f in section.fields}
            for name in [*check.fields, check.target]:
                if name not in names:
                    text = f"unknown field {check.section}.{name}"
                    issue = Issue("unknown_field", text, section=check.section, field=name)
                    issues.append((("checks", index), issue))
        for index, quick in enumerate(self.quick):
            section = sections.get(quick.section)
            if section is None or section.kind != "table":
                text = f"quick form {quick.alias!r}: {quick.section!r} is not a table"
                issue = Issue("quick_not_table", text, alias=quick.alias, section=quick.section)
                issues.append((("quick", index, "section"), issue))
                continue
            fields = {f.id: f for f in section.fields}
            for name in [*quick.fields, *quick.preset]:
                if name not in fields:
                    text = f"quick form {quick.alias!r}: unknown field {name!r}"
                    issue = Issue("quick_unknown_field", text, alias=quick.alias, field=name)
                    issues.append((("quick", index), issue))
            for name, choice in quick.preset.items():
                if name in fields and choice not in {c.id for c in fields[name].choices}:
                    text = f"quick form {quick.alias!r}: {name} has no choice {choice!r}"
                    issue = Issue(
                        "quick_no_choice", text, alias=quick.alias, field=name, choice=choice
                    )
                    issues.append((("quick", index, "preset", name), issue))
        issues += [
            (("quick", *loc), message)
            for loc, message in repeated_ids([q.alias for q in self.quick], "alias", "alias")
        ]
        raise_issues(issues)
        return self
