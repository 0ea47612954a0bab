"""Write a trustshift instrument (and skip-logic checks) from an XLSForm, read by pyxform."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from flows.errors import StudyFileError
from flows.instrument import ScaleKind

# XLSForm question types that hold no answer to analyse: metadata, free text, media, places.
SKIPPED_TYPES = frozenset(
    {
        "note",
        "text",
        "calculate",
        "geopoint",
        "geotrace",
        "geoshape",
        "start-geopoint",
        "photo",
        "image",
        "audio",
        "video",
        "file",
        "barcode",
        "date",
        "time",
        "dateTime",
        "datetime",
        "acknowledge",
        "trigger",
        "hidden",
        "xml-external",
        "csv-external",
        "background-audio",
        "audit",
        "today",
        "deviceid",
        "username",
        "phonenumber",
        "subscriberid",
        "simserial",
        "email",
        "start",
        "end",
    }
)
NUMBER_TYPES = frozenset({"integer", "int", "decimal"})
YES_NAMES = frozenset({"yes", "1", "true", "oui", "si", "ndiyo"})
NO_NAMES = frozenset({"no", "0", "false", "non", "hapana"})
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_PLAIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BOUND = re.compile(r"^\(?\s*\.\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*\)?$")
_EQUALS = re.compile(r"^\(?\s*\$\{([^}]+)\}\s*(!=|=)\s*['\"]([^'\"]*)['\"]\s*\)?$")
_SELECTED = re.compile(
    r"^\(?\s*(not\s*\()?\s*selected\(\s*\$\{([^}]+)\}\s*,\s*['\"]([^'\"]*)['\"]\s*\)\s*\)?\s*\)?$"
)


@dataclass(slots=True)
class _Question:
    """One analysable question of the form, as the instrument will hold it."""

    name: str
    source_name: str
    construct: str
    groups: tuple[str, ...]
    scale: str
    question: str
    minimum: float | None = None
    maximum: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    codes: dict[str, float] = field(default_factory=dict)  # choice name -> code
    required: bool = False
    relevant: str = ""
    constraint: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SkipRule:
    """A question asked only when another answer allows it, as a contradiction rule."""

    name: str
    item: str
    equals: float
    other_item: str
    other_values: list[float]


@dataclass(slots=True)
class Conversion:
    """An XLSForm turned into an instrument: its TOML text, skip rules and what was left out."""

    form_id: str
    title: str
    instrument_toml: str
    skip_rules: list[SkipRule]
    item_names: list[str]
    numeric_items: list[str]
    metadata: dict[str, str]
    untranslated: list[str]
    renames: dict[str, str]


def read_xlsform(path: Path) -> dict[str, Any]:
    """The form as pyxform's JSON dictionary (XLSX, XLS, CSV or Markdown layout)."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    if not path.is_file():
        raise StudyFileError(
            f"read_xlsform: no XLSForm at {str(path)!r}. Give the path to the form's "
            ".xlsx, .xls, .csv or .md file."
        )
    try:
        return dict(parse_file_to_json(str(path)))
    except PyXFormError as error:
        raise StudyFileError(
            f"read_xlsform: pyxform cannot read {path.name} ({error}). Fix the form as "
            "KoboToolbox or ODK would ask, then run `trustshift init --xlsform` again."
        ) from None


def _label(value: object, language: str | None) -> str:
    if isinstance(value, dict):
        if language and language in value:
            return str(value[language])
        if "default" in value:
            return str(value["default"])
        return str(next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _item_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"q_{cleaned}"
    return cleaned


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _bounds(constraint: str) -> tuple[float | None, float | None, bool]:
    """(minimum, maximum, fully translated) from a constraint such as `. >= 0 and . <= 120`."""
    if not constraint.strip():
        return None, None, True
    minimum: float | None = None
    maximum: float | None = None
    parts = re.split(r"\s+and\s+", constraint.strip())
    translated = True
    for part in parts:
        match = _BOUND.match(part.strip())
        if match is None:
            translated = False
            continue
        operator, value = match.group(1), float(match.group(2))
        if operator in (">=", ">"):
            # A strict bound on integers is the next integer; on decimals it stays the bound.
            minimum = value if minimum is None else max(minimum, value)
        else:
            maximum = value if maximum is None else min(maximum, value)
    return minimum, maximum, translated


def _select_question(
    node: dict[str, Any], choices: list[dict[str, Any]], language: str | None
) -> tuple[str, dict[str, str], dict[str, float], dict[str, str], list[str]]:
    """(scale, labels, codes, choices, notes) of a select_one or select_multiple."""
    names = [str(choice["name"]) for choice in choices]
    texts = {str(c["name"]): _label(c.get("label"), language) or str(c["name"]) for c in choices}
    if node["type"] == "select all that apply":
        return "select_multiple", {}, {}, texts, []
    lowered = {name.lower() for name in names}
    if len(names) == 2 and lowered & YES_NAMES and lowered & NO_NAMES:
        codes = {name: (1.0 if name.lower() in YES_NAMES else 0.0) for name in names}
        labels = {f"{codes[name]:g}": name for name in names}
        return "binary", labels, codes, {}, []
    numeric = [_number(name) for name in names]
    notes = []
    if all(value is not None for value in numeric):
        codes = {name: float(value) for name, value in zip(names, numeric, strict=True)}  # type: ignore[arg-type]
        labels = {f"{codes[name]:g}": texts[name] for name in names}
    else:
        # Exports hold the choice name (ODK Central, SurveyCTO, Kobo "XML values"): the name
        # is the answer label trustshift looks up; codes follow the order of the choices.
        codes = {name: float(position) for position, name in enumerate(names, start=1)}
        labels = {f"{codes[name]:g}": name for name in names}
        notes = [f"{name} = {texts[name]}" for name in names if texts[name] != name]
    appearance = str(node.get("control", {}).get("appearance", ""))
    scale = "likert" if "likert" in appearance else "categorical"
    return scale, labels, codes, {}, notes


def _questions(form: dict[str, Any]) -> tuple[list[_Question], dict[str, str], list[str]]:
    language = form.get("default_language")
    language = None if language == "default" else language
    choice_lists: dict[str, list[dict[str, Any]]] = form.get("choices", {}) or {}
    questions: list[_Question] = []
    metadata: dict[str, str] = {}
    untranslated: list[str] = []
    root = _item_name(str(form.get("name") or form.get("id_string") or "form"))

    def walk(children: list[dict[str, Any]], construct: str, groups: tuple[str, ...]) -> None:
        for node in children:
            kind = str(node.get("type", ""))
            name = str(node.get("name", ""))
            if kind in ("group", "repeat"):
                if name == "meta":
                    continue
                if kind == "repeat":
                    untranslated.append(
                        f"{name}: a repeat group (one row per repetition) is not a wave "
                        "column; export it as its own file"
                    )
                    continue
                walk(node.get("children", []), _item_name(name), (*groups, name))
                continue
            if kind in ("start", "end"):
                metadata[kind] = name
            if kind in SKIPPED_TYPES or kind.startswith("select one from") or not name:
                continue
            bind = node.get("bind", {}) or {}
            question = _Question(
                name=_item_name(name),
                source_name=name,
                construct=construct,
                groups=groups,
                scale="",
                question=_label(node.get("label"), language) or name,
                required=str(bind.get("required", "")).lower() in ("true()", "yes", "true"),
                relevant=str(bind.get("relevant", "")),
                constraint=str(bind.get("constraint", "")),
            )
            if kind in ("select one", "select all that apply"):
                list_name = str(node.get("list_name") or node.get("itemset") or "")
                options = node.get("children") or choice_lists.get(list_name, [])
                if not options:
                    untranslated.append(f"{name}: its choices come from a file; not an item")
                    continue
                scale, labels, codes, choices, notes = _select_question(node, options, language)
                question.scale, question.labels, question.codes = scale, labels, codes
                question.choices, question.notes = choices, notes
                if scale == "likert":
                    values = sorted(codes.values())
                    question.minimum, question.maximum = values[0], values[-1]
            elif kind in NUMBER_TYPES or kind == "range":
                minimum, maximum, translated = _bounds(question.constraint)
                if kind == "range":
                    parameters = node.get("parameters", {}) or {}
                    minimum = _number(str(parameters.get("start", "1")))
                    maximum = _number(str(parameters.get("end", "10")))
                    question.scale = "likert"
                elif kind == "decimal" and "continuous" in get_args(ScaleKind):
                    question.scale = "continuous"
                elif minimum is not None and minimum < 0:
                    question.scale = "continuous" if "continuous" in get_args(ScaleKind) else ""
                else:
                    question.scale = "count" if kind != "decimal" else "money"
                if not question.scale:
                    untranslated.append(f"{name}: a negative range needs a continuous scale")
                    continue
                question.minimum, question.maximum = minimum, maximum
                if not translated:
                    untranslated.append(
                        f"{name}: constraint {question.constraint!r} is only partly a range; "
                        "the range check covers the bounds found"
                    )
            else:
                untranslated.append(f"{name}: type {kind!r} is not analysable; left out")
                continue
            questions.append(question)

    walk(list(form.get("children", [])), root, ())
    _reject_clashes(questions)
    return questions, metadata, untranslated


def _reject_clashes(questions: list[_Question]) -> None:
    seen: dict[str, str] = {}
    for question in questions:
        if question.name in seen:
            raise StudyFileError(
                f"read_xlsform: questions {seen[question.name]!r} and {question.source_name!r} "
                f"both become item {question.name!r}; rename one in the form."
            )
        seen[question.name] = question.source_name


def _valid_codes(question: _Question) -> list[float] | None:
    if question.scale in ("binary", "categorical", "likert") and question.codes:
        return sorted(set(question.codes.values()))
    if question.scale == "likert" and question.minimum is not None and question.maximum is not None:
        return [float(v) for v in range(int(question.minimum), int(question.maximum) + 1)]
    return None


def _conditions(expression: str) -> list[tuple[str, str, str]] | None:
    """(question, operator, choice) conjuncts of a relevance, or None when not translatable."""
    text = expression.strip()
    if not text:
        return []
    if re.search(r"\bor\b", text):
        disjuncts = re.split(r"\s+or\s+", text)
        parsed = [_EQUALS.match(part.strip()) for part in disjuncts]
        if all(match and match.group(2) == "=" for match in parsed):
            names = {match.group(1) for match in parsed if match}
            if len(names) == 1:
                return [(names.pop(), "in", "|".join(m.group(3) for m in parsed if m))]
        return None
    conjuncts: list[tuple[str, str, str]] = []
    for part in re.split(r"\s+and\s+", text):
        equals = _EQUALS.match(part.strip())
        selected = _SELECTED.match(part.strip())
        if equals:
            conjuncts.append((equals.group(1), equals.group(2), equals.group(3)))
        elif selected:
            operator = "not_selected" if selected.group(1) else "selected"
            conjuncts.append((selected.group(2), operator, selected.group(3)))
        else:
            return None
    return conjuncts


def _skip_rules(questions: list[_Question]) -> tuple[list[SkipRule], list[str]]:
    """Contradiction rules that quarantine an answer given where the form would skip it."""
    by_source = {question.source_name: question for question in questions}
    rules: dict[str, SkipRule] = {}
    untranslated: list[str] = []
    for question in questions:
        if not question.relevant:
            continue
        answered = _valid_codes(question)
        conditions = _conditions(question.relevant)
        if conditions is None or answered is None:
            why = (
                "its answers have no closed set of codes"
                if answered is None
                else ("the expression is not a comparison of answers")
            )
            untranslated.append(
                f"{question.source_name}: relevant {question.relevant!r} is not checked ({why})"
            )
            continue
        for source, operator, choice in conditions:
            condition = by_source.get(source)
            if condition is None:
                untranslated.append(
                    f"{question.source_name}: relevant refers to {source!r}, which is not an "
                    "item; not checked"
                )
                continue
            if operator in ("selected", "not_selected"):
                # The check compares whole items; one choice of a select_multiple is not one.
                untranslated.append(
                    f"{question.source_name}: relevant {question.relevant!r} is not checked "
                    "(a condition on one choice of a select_multiple)"
                )
                continue
            if not condition.codes:
                untranslated.append(
                    f"{question.source_name}: relevant {question.relevant!r} is not checked "
                    f"({source!r} is not a select_one)"
                )
                continue
            stored = condition.name
            allowed = set(choice.split("|")) if operator == "in" else {choice}
            if operator == "!=":
                allowed = set(condition.codes) - {choice}
            skipped = sorted(code for name, code in condition.codes.items() if name not in allowed)
            for code in skipped:
                name = _item_name(f"skip_{question.name}_{stored}_{code:g}")
                rules[name] = SkipRule(
                    name=name,
                    item=stored,
                    equals=code,
                    other_item=question.name,
                    other_values=list(answered),
                )
    return list(rules.values()), untranslated


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _toml_number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _instrument_text(
    form: dict[str, Any], questions: list[_Question], source: Path, form_id: str
) -> str:
    title = str(form.get("title") or form_id)
    lines = [
        f"# Instrument written by `trustshift init --xlsform` from {source.name}",
        "# (read with pyxform). Edit it freely: a select_one becomes `categorical` unless its",
        '# appearance is `likert`; change `scale` to "likert" for an ordered rating. Choice',
        "# names are the answer labels trustshift reads (exports with XML values); codes",
        "# follow the order of the choices unless the names are numbers.",
        f"id = {_toml_string(form_id)}",
        f"title = {_toml_string(title)}",
        f"version = {_toml_string(str(form.get('version') or '1'))}",
        "",
        "[special_codes]",
        'dont_know = { code = -88, label = "Don\'t know" }',
        'refused = { code = -99, label = "Refused to answer" }',
        "",
    ]
    constructs = list(dict.fromkeys(question.construct for question in questions))
    for construct in constructs:
        lines += [
            "[[constructs]]",
            f"name = {_toml_string(construct)}",
            f"label = {_toml_string(construct.replace('_', ' ').capitalize())}",
            'domain = "form"',
            f"description = {_toml_string(f'the questions of the form group {construct!r}')}",
            "",
        ]
    for question in questions:
        lines.append("[[items]]")
        if question.source_name != question.name:
            lines.append(f"# form name: {question.source_name}")
        if question.required:
            lines.append("# required in the form")
        if question.relevant:
            lines.append(f"# relevant: {question.relevant}")
        if question.constraint:
            lines.append(f"# constraint: {question.constraint}")
        for note in question.notes:
            lines.append(f"# choice {note}")
        lines += [
            f"name = {_toml_string(question.name)}",
            f"construct = {_toml_string(question.construct)}",
            f"scale = {_toml_string(question.scale)}",
            f"question = {_toml_string(question.question)}",
        ]
        if question.minimum is not None:
            lines.append(f"minimum = {_toml_number(question.minimum)}")
        if question.maximum is not None:
            lines.append(f"maximum = {_toml_number(question.maximum)}")
        if question.labels:
            pairs = ", ".join(
                f"{_toml_string(code)} = {_toml_string(label)}"
                for code, label in question.labels.items()
            )
            lines.append(f"labels = {{ {pairs} }}")
        if question.choices:
            pairs = ", ".join(
                f"{_toml_string(name)} = {_toml_string(label)}"
                for name, label in question.choices.items()
            )
            lines.append(f"choices = {{ {pairs} }}")
        lines.append("")
    return "\n".join(lines)


def convert_xlsform(path: Path) -> Conversion:
    """Read an XLSForm and translate it: items, scales, codes, ranges and skip logic."""
    form = read_xlsform(path)
    questions, metadata, untranslated = _questions(form)
    if not questions:
        raise StudyFileError(
            f"convert_xlsform: {path.name} has no question trustshift can analyse "
            "(select_one, select_multiple, integer, decimal or range). Check the form's survey "
            "sheet."
        )
    rules, skipped = _skip_rules(questions)
    declared = str(form.get("id_string") or "")
    form_id = _item_name(declared if declared[:1].isalpha() else path.stem)
    for question in questions:
        if question.scale == "select_multiple":
            bad = [name for name in question.choices if not _NAME_PATTERN.match(name.lower())]
            if bad:
                untranslated.append(
                    f"{question.source_name}: choice names {bad} are not plain names; their "
                    "columns may need reading.rename"
                )
    numeric = [q.name for q in questions if q.scale not in ("categorical", "select_multiple")]
    renames: dict[str, str] = {}
    for question in questions:
        if _PLAIN_NAME.match(question.source_name):
            continue
        # A name such as `Sub-ward` would be split at its dash like an ODK group path.
        for spelling in (
            "/".join((*question.groups, question.source_name)),
            "-".join((*question.groups, question.source_name)),
            question.source_name,
        ):
            renames[spelling] = question.name
    return Conversion(
        form_id=form_id,
        title=str(form.get("title") or form_id),
        instrument_toml=_instrument_text(form, questions, path, form_id),
        skip_rules=rules,
        item_names=[question.name for question in questions],
        numeric_items=numeric,
        metadata=metadata,
        untranslated=untranslated + skipped,
        renames=renames,
    )


def skip_rules_toml(rules: list[SkipRule]) -> str:
    """The `[[quality.contradictions]]` tables of the skip rules (empty list when none)."""
    head = (
        "[quality]\n# For an eligibility check, name the age item and its limits, for "
        'example age_item = "respondent_age" and minimum_age = 18.\n'
    )
    if not rules:
        return head + "contradictions = []\n"
    blocks = [head]
    for rule in rules:
        values = ", ".join(_toml_number(value) for value in rule.other_values)
        blocks += [
            "[[quality.contradictions]]",
            f"name = {_toml_string(rule.name)}",
            f"item = {_toml_string(rule.item)}",
            f"equals = {_toml_number(rule.equals)}",
            f"other_item = {_toml_string(rule.other_item)}",
            f"other_values = [{values}]",
            "",
        ]
    return "\n".join(blocks)


def _reading_toml(renames: dict[str, str]) -> str:
    if not renames:
        return ""
    pairs = ", ".join(
        f"{_toml_string(raw)} = {_toml_string(item)}" for raw, item in renames.items()
    )
    return f"[reading]\nrename = {{ {pairs} }}\n\n"


def study_toml(conversion: Conversion, *, study_id: str, title: str, instrument_file: str) -> str:
    """A study file for the form's instrument: roles to fill in, skip rules already written."""
    start = conversion.metadata.get("start")
    end = conversion.metadata.get("end")
    outcomes = ", ".join(_toml_string(name) for name in conversion.numeric_items[:3])
    roles = [
        'respondent = "respondent_id"        # the column that identifies a respondent',
        'cluster = "community"               # the unit of assignment (a cluster_randomised study)',
        'submission = "_uuid"',
        f"interview_start = {_toml_string(start)}" if start else '# interview_start = "start"',
        f"interview_end = {_toml_string(end)}" if end else '# interview_end = "end"',
        'arm = { column = "arm", treatment = ["campaign"], comparison = ["comparison"] }',
    ]
    untranslated = "".join(f"#   {line}\n" for line in conversion.untranslated)
    return (
        f"# A trustshift study for the XLSForm {conversion.title!r}, written by\n"
        "# `trustshift init --xlsform`. Fill in the column roles and the design; the\n"
        f"# instrument is {instrument_file}. Skip logic (`relevant`) is checked by the\n"
        "# [[quality.contradictions]] rules below: an answer given where the form would have\n"
        "# skipped the question quarantines the row.\n"
        + (f"# Not translated from the form:\n{untranslated}" if untranslated else "")
        + f"id = {_toml_string(study_id)}\n"
        f"title = {_toml_string(title)}\n"
        "pii = []\n\n"
        "[design]\n"
        'assignment = "cluster_randomised"   # or "quasi_experimental", "pre_post"\n'
        'sampling = "panel"                  # or "repeated_cross_section"\n\n'
        "[columns]\n" + "\n".join(roles) + "\n\n"
        '[[waves]]\nname = "baseline"\n\n[[waves]]\nname = "endline"\n\n'
        f"[instrument]\nbase = {_toml_string(instrument_file)}\n\n"
        + _reading_toml(conversion.renames)
        + f"[outcomes]\nprimary = [{outcomes}]\n\n"
        "[missing_codes]\ndont_know = [-88]\nrefused = [-99]\n\n"
        + skip_rules_toml(conversion.skip_rules)
        + '\n[locations]\ninbox = "inbox"\narchive = "raw"\n'
        'warehouse = "warehouse/trustshift.duckdb"\n'
    )
