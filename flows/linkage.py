"""Whether a new wave links to the study's panel: the same key, and ids that match the baseline.

A changed pseudonym key, or ids that lost their leading zeros in a spreadsheet, give every
respondent a new pseudonym: the panel silently falls apart. Both are refused at ingestion,
before anything is written.
"""

from __future__ import annotations

import pandas as pd

from flows.errors import IngestError
from flows.privacy import key_fingerprint, pseudonymise
from flows.study import Study
from flows.warehouse import WarehouseConnection, has_table

# Widths tried when looking for ids that lost (or gained) their leading zeros.
_PADDED_WIDTHS = range(2, 13)


def recorded_fingerprint(connection: WarehouseConnection, study_id: str) -> str | None:
    """The fingerprint of the key the study's stored waves were pseudonymised with."""
    if not has_table(connection, "pseudonym_keys"):
        return None
    row = connection.execute(
        "SELECT fingerprint FROM pseudonym_keys WHERE study_id = ?", [study_id]
    ).fetchone()
    return None if row is None else str(row[0])


def check_key(connection: WarehouseConnection, study: Study, key: bytes) -> None:
    """Refuse a pseudonym key whose fingerprint differs from the one the warehouse recorded."""
    recorded = recorded_fingerprint(connection, study.id)
    if recorded is None or recorded == key_fingerprint(key):
        return
    raise IngestError(
        f"ingest_wave: the pseudonym key in use for study {study.id!r} is not the key its "
        "stored waves were pseudonymised with (the warehouse records the key's fingerprint, "
        "never the key); with another key no respondent would link to earlier waves. Set "
        "the study's original key again (TRUSTSHIFT_PSEUDONYM_KEY_<STUDY_ID>, "
        "TRUSTSHIFT_PSEUDONYM_KEY, the Prefect Secret, or raw/.pseudonym-key) and ingest again."
    )


def record_key(connection: WarehouseConnection, study: Study, key: bytes, now: object) -> None:
    """Record the key's fingerprint the first time the study stores a wave."""
    connection.execute(
        "INSERT INTO pseudonym_keys VALUES (?, ?, ?) ON CONFLICT (study_id) DO NOTHING",
        [study.id, key_fingerprint(key), now],
    )


def baseline_pseudonyms(
    connection: WarehouseConnection, study: Study, wave: str
) -> set[str] | None:
    """Pseudonyms of the stored first wave, when ``wave`` is a later wave of a panel."""
    if study.design.sampling != "panel" or wave == study.wave_names[0]:
        return None
    if not has_table(connection, "interviews"):
        return None
    rows = connection.execute(
        "SELECT DISTINCT i.respondent FROM interviews i JOIN waves w ON w.study_id = i.study_id "
        "AND w.wave = i.wave AND w.version = i.version AND w.status = 'stored' "
        "WHERE i.study_id = ? AND i.wave = ? AND i.respondent IS NOT NULL",
        [study.id, study.wave_names[0]],
    ).fetchall()
    return {str(row[0]) for row in rows} or None


def check_panel_link(
    connection: WarehouseConnection,
    study: Study,
    *,
    wave: str,
    file_name: str,
    raw_ids: pd.Series,
    key: bytes,
    pseudonyms: pd.Series | None = None,
) -> None:
    """Refuse a later panel wave whose ids match almost none of the baseline's.

    The share of the wave's respondents found at baseline must reach
    ``quality.minimum_panel_link_share``; below it the likely cause is named: ids whose
    leading zeros were lost (or added) when the file went through a spreadsheet, or another id
    column. ``pseudonyms``, when given, holds each raw id's pseudonym under ``key`` (same
    index): ids given as they are compared are not hashed again.
    """
    baseline = baseline_pseudonyms(connection, study, wave)
    if baseline is None:
        return
    ids = raw_ids.dropna().astype(str).str.strip()
    ids = ids[ids != ""].drop_duplicates()
    if ids.empty:
        return
    threshold = study.quality.minimum_panel_link_share
    share = _linked_share(_pseudonyms_of(ids, raw_ids, pseudonyms, key), baseline)
    if share >= threshold:
        return
    cause = _likely_cause(ids, baseline, key, threshold)
    raise IngestError(
        f"ingest_wave: {file_name} (wave {wave!r}) links {share:.0%} of its respondents to "
        f"the {study.wave_names[0]!r} wave of this panel study; at least {threshold:.0%} must "
        f"link (quality.minimum_panel_link_share). {cause}"
    )


def _pseudonyms_of(
    ids: pd.Series, raw_ids: pd.Series, known: pd.Series | None, key: bytes
) -> pd.Series:
    """The pseudonyms of ``ids`` (a subset of ``raw_ids``' index): taken from ``known`` where
    the raw id was already the text compared, hashed where stripping changed it."""
    if known is None:
        return pseudonymise(ids, key)
    unchanged = (raw_ids.loc[ids.index].astype(str) == ids).to_numpy(dtype=bool)
    result = known.loc[ids.index].astype("string")
    if not unchanged.all():
        result[~unchanged] = pseudonymise(ids[~unchanged], key)
    return result


def _linked_share(pseudonyms: pd.Series, baseline: set[str]) -> float:
    """The share of ``pseudonyms`` found in ``baseline`` (a set lookup per id: pandas' ``isin``
    on Arrow strings builds a Python list of the set first, ten times slower)."""
    if pseudonyms.empty:
        return 0.0
    return sum(pseudonym in baseline for pseudonym in pseudonyms.tolist()) / len(pseudonyms)


def _likely_cause(ids: pd.Series, baseline: set[str], key: bytes, threshold: float) -> str:
    numeric = ids.str.fullmatch(r"\d+")
    if numeric.mean() > 0.9:
        stripped = _linked_share(pseudonymise(ids.str.lstrip("0").replace("", "0"), key), baseline)
        if stripped >= threshold:
            return (
                "Its ids carry leading zeros that the baseline's lack. Export both waves with "
                "the id column as text, or strip the zeros in this export, and ingest again."
            )
        for width in _PADDED_WIDTHS:
            padded = _linked_share(pseudonymise(ids.str.zfill(width), key), baseline)
            if padded >= threshold:
                return (
                    f"Its ids lost their leading zeros (padded to {width} digits, "
                    f"{padded:.0%} link): a spreadsheet read the id column as numbers. Export "
                    "the wave again with the id column as text and ingest it."
                )
    return (
        "Check that columns.respondent names the same id in every wave and that the ids were "
        "not changed (leading zeros, prefixes); correct the export and ingest again."
    )
