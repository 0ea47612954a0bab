"""Map raw column names (Kobo/ODK paths, SPSS/Stata spellings, renames) onto roles and items."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from flows.errors import IngestError, StudyFileError
from flows.instrument import SELECT_MULTIPLE_SEPARATOR, Instrument
from flows.study import Study

ROLES = (
    "respondent",
    "submission",
    "cluster",
    "stratum",
    "arm",
    "wave",
    "weight",
    "enumerator",
    "interview_start",
    "interview_end",
    "consent",
)

# Metadata KoboToolbox, ODK Central and SurveyCTO add to every export (normalised names).
EXPORT_METADATA = frozenset(
    {
        "_uuid",
        "_id",
        "_index",
        "_submission_time",
        "_validation_status",
        "_status",
        "_submitted_by",
        "_tags",
        "_notes",
        "_attachments",
        "_geolocation",
        "_xform_id_string",
        "_parent_index",
        "_parent_table_name",
        "_version_",
        "__version__",
        "meta/instanceid",
        "meta/deprecatedid",
        "meta/rootuuid",
        "meta/instancename",
        "meta-instanceid",
        "formhub/uuid",
        "submissiondate",
        "submitterid",
        "submittername",
        "attachmentspresent",
        "attachmentsexpected",
        "reviewstate",
        "deviceid",
        "formversion",
        "instanceid",
        "key",
    }
)
PATH_SEPARATORS = re.compile(r"[/\-]")
STATA_NAME_LENGTH = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMap:
    """Which raw column feeds each role and stored item; what was left out."""

    roles: dict[str, str]
    items: dict[str, str]
    combined: dict[str, str]
    pii: tuple[str, ...]
    dropped: tuple[str, ...]
    export_metadata: bool


def normal_name(name: object) -> str:
    """Case- and space-insensitive form of a column name."""
    return str(name).strip().casefold()


def raw_keys(name: str) -> list[str]:
    """The keys a raw column may match, best first: itself, without a leading underscore,
    then its Kobo/ODK path tail (``item/choice`` as ``item__choice``, then the last segment)."""
    full = normal_name(name)
    keys = [full, full.lstrip("_")]
    segments = [segment for segment in PATH_SEPARATORS.split(full) if segment]
    if len(segments) > 1:
        keys.append(f"{segments[-2].lstrip('_')}{SELECT_MULTIPLE_SEPARATOR}{segments[-1]}")
        keys.extend([segments[-1], segments[-1].lstrip("_")])
    return list(dict.fromkeys(key for key in keys if key))


def declared_roles(study: Study) -> dict[str, str]:
    """Role -> the raw column name the study declares for it."""
    columns = study.columns
    declared = {
        "respondent": columns.respondent,
        "submission": columns.submission,
        "cluster": columns.cluster,
        "stratum": columns.stratum,
        "arm": columns.arm.column if columns.arm else None,
        "wave": columns.wave,
        "weight": columns.weight,
        "enumerator": columns.enumerator,
        "interview_start": columns.interview_start,
        "interview_end": columns.interview_end,
        "consent": columns.consent,
    }
    return {role: name for role, name in declared.items() if name}


def _target_keys(name: str) -> list[str]:
    full = normal_name(name)
    keys = [full, full.lstrip("_")]
    segments = [segment for segment in PATH_SEPARATORS.split(full) if segment]
    if len(segments) > 1:
        keys.append(segments[-1].lstrip("_"))
    return [key for key in keys if key]


def _item_targets(instrument: Instrument) -> tuple[dict[str, str], dict[str, str]]:
    """Key -> stored item name, and key -> select-multiple item (its combined column)."""
    stored: dict[str, str] = {}
    combined: dict[str, str] = {}
    for item in instrument.items:
        if item.scale == "select_multiple":
            combined[item.name] = item.name
            for name in item.stored_names():
                stored[name] = name
        else:
            stored[item.name] = item.name
    exact = set(stored) | set(combined)
    for item in instrument.items:
        if item.scale != "select_multiple":
            continue
        for choice in item.choices:
            flat = f"{item.name}_{choice.casefold()}"
            if flat not in exact:  # SurveyCTO and flat files: item_choice
                stored.setdefault(flat, f"{item.name}{SELECT_MULTIPLE_SEPARATOR}{choice}")
            lowered = f"{item.name}{SELECT_MULTIPLE_SEPARATOR}{choice.casefold()}"
            stored.setdefault(lowered, f"{item.name}{SELECT_MULTIPLE_SEPARATOR}{choice}")
    return stored, combined


def _match(
    raw_names: list[str], targets: dict[str, str], fixed: dict[str, str]
) -> dict[str, list[str]]:
    """Target -> raw columns matching it; ``fixed`` (raw -> target) comes from reading.rename."""
    found: dict[str, list[str]] = {}
    for raw in raw_names:
        target = fixed.get(raw)
        if target is None:
            target = next((targets[key] for key in raw_keys(raw) if key in targets), None)
        if target is None and len(raw) == STATA_NAME_LENGTH:
            # Stata cuts names at 32 characters: a unique target it is the start of.
            prefix = normal_name(raw)
            starts = {value for key, value in targets.items() if key.startswith(prefix)}
            target = starts.pop() if len(starts) == 1 else None
        if target is not None:
            found.setdefault(target, []).append(raw)
    return found


def match_columns(raw_names: Iterable[object], *, study: Study, file: str) -> ColumnMap:
    """Map the raw columns of one file; refuse two columns that map onto one target."""
    names = [str(name) for name in raw_names]
    instrument = study.resolved_instrument()
    roles = declared_roles(study)

    pii_keys: dict[str, str] = {}
    for name in study.pii:
        for key in _target_keys(name):
            pii_keys.setdefault(key, name)
    pii = [raw for raw in names if any(key in pii_keys for key in raw_keys(raw))]
    usable = [raw for raw in names if raw not in pii]

    role_keys: dict[str, str] = {}
    for role, name in roles.items():
        role_keys.setdefault(normal_name(name), role)
    for role, name in roles.items():
        for key in _target_keys(name):
            role_keys.setdefault(key, role)
    item_keys, combined_keys = _item_targets(instrument)

    role_fixed, item_fixed, combined_fixed = _renames(
        study, usable, roles, item_keys, combined_keys
    )
    role_found = _match(usable, role_keys, role_fixed)
    item_found = _match(usable, {**combined_keys, **item_keys}, {**item_fixed, **combined_fixed})

    role_map = {role: _one(role, raws, role_fixed, file) for role, raws in role_found.items()}
    item_map: dict[str, str] = {}
    combined_map: dict[str, str] = {}
    for target, raws in item_found.items():
        chosen = _one(target, raws, {**item_fixed, **combined_fixed}, file)
        if target in combined_keys.values() and target not in item_keys.values():
            combined_map[target] = chosen
        else:
            item_map[target] = chosen

    # One raw column may play several roles (the respondent id doubling as the cluster or
    # the submission id): a role declared on the same column as a matched one shares it.
    for role, name in roles.items():
        if role in role_map:
            continue
        twin = next(
            (
                other
                for other, other_name in roles.items()
                if other in role_map and normal_name(other_name) == normal_name(name)
            ),
            None,
        )
        if twin is not None:
            role_map[role] = role_map[twin]
    missing = [role for role in roles if role not in role_map]
    if missing:
        role = missing[0]
        raise IngestError(_missing_role_message(role, roles[role], names, file))

    used = set(role_map.values()) | set(item_map.values()) | set(combined_map.values())
    dropped = tuple(raw for raw in names if raw not in used)
    # One `_uuid` column is common outside Kobo; group paths or several meta columns are not.
    metadata = any("/" in raw for raw in names) or (
        sum(normal_name(raw) in EXPORT_METADATA for raw in names) >= 2
    )
    return ColumnMap(
        roles=role_map,
        items=item_map,
        combined=combined_map,
        pii=tuple(pii),
        dropped=dropped,
        export_metadata=metadata,
    )


def _one(target: str, raws: list[str], fixed: dict[str, str], file: str) -> str:
    if len(raws) == 1:
        return raws[0]
    renamed = [raw for raw in raws if raw in fixed]
    if len(renamed) == 1:
        return renamed[0]
    shown = ", ".join(repr(raw) for raw in raws)
    raise IngestError(
        f"code_wave: columns {shown} in {file} all map to {target!r} once names are compared "
        "without case, spaces, group paths and leading underscores; the reader cannot tell "
        "which one holds the answers. Remove the extra column from the export, or name the "
        'right one in reading.rename (for example reading.rename = { "'
        + raws[0]
        + '" = "'
        + target
        + '" }).'
    )


def _renames(
    study: Study,
    raw_names: list[str],
    roles: dict[str, str],
    item_keys: dict[str, str],
    combined_keys: dict[str, str],
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    role_fixed: dict[str, str] = {}
    item_fixed: dict[str, str] = {}
    combined_fixed: dict[str, str] = {}
    by_normal = {normal_name(raw): raw for raw in raw_names}
    role_by_column = {normal_name(name): role for role, name in roles.items()}
    for source, target in study.reading.rename.items():
        raw = source if source in raw_names else by_normal.get(normal_name(source))
        key = normal_name(target)
        if key in roles:
            role: str | None = key
        else:
            role = role_by_column.get(key)
        if role is not None:
            if raw is not None:
                role_fixed[raw] = role
            continue
        if key in item_keys:
            if raw is not None:
                item_fixed[raw] = item_keys[key]
            continue
        if key in combined_keys:
            if raw is not None:
                combined_fixed[raw] = combined_keys[key]
            continue
        if key in ROLES:
            # A role the study does not declare: nothing to map it to.
            continue
        raise StudyFileError(
            f"code_wave: reading.rename maps {source!r} to {target!r}, which is neither an "
            f"instrument item nor a role column of the study (roles: {sorted(roles)}). Fix the "
            "target name in the study file."
        )
    return role_fixed, item_fixed, combined_fixed


def _missing_role_message(role: str, column: str, names: list[str], file: str) -> str:
    normal = {normal_name(raw): raw for raw in names}
    close = difflib.get_close_matches(normal_name(column), list(normal), n=3, cutoff=0.6)
    nearest = [normal[key] for key in close]
    hint = f"the closest columns are {nearest}" if nearest else "no column has a similar name"
    where = "columns.arm.column" if role == "arm" else f"columns.{role}"
    example = nearest[0] if nearest else "the name in the file"
    return (
        f"code_wave: {file} has no column {column!r} for the {role} role ({where} in the "
        f'study file); {hint}. Set reading.rename = {{ "{example}" = "{column}" }} in the '
        "study file or correct the export."
    )
