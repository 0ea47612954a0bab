"""The panel link check's pseudonyms: taken from the interviews where the id is the text
compared, hashed where it is not; the same either way."""

from __future__ import annotations

import pandas as pd

from flows.linkage import _pseudonyms_of
from flows.privacy import pseudonymise

KEY = b"panel-link-test-key-0123456789"


def compared_ids(raw_ids: pd.Series) -> pd.Series:
    """The ids as check_panel_link compares them: stripped, no blanks, each once."""
    ids = raw_ids.dropna().astype(str).str.strip()
    return ids[ids != ""].drop_duplicates()


def test_pseudonyms_from_the_interviews_equal_hashing_the_compared_ids() -> None:
    raw_ids = pd.Series(["R1", " R2 ", None, "R1", "", "R3", "R2"], dtype="str")
    ids = compared_ids(raw_ids)
    known = pseudonymise(raw_ids, KEY)
    found = _pseudonyms_of(ids, raw_ids, known, KEY)
    assert found.index.tolist() == ids.index.tolist()
    assert found.tolist() == pseudonymise(ids, KEY).tolist()
    # " R2 " is compared as "R2": its interview pseudonym (of " R2 ") is not the one used.
    assert found[1] != known[1]


def test_without_interview_pseudonyms_every_compared_id_is_hashed() -> None:
    raw_ids = pd.Series(["A", "B ", None], dtype="str")
    ids = compared_ids(raw_ids)
    assert _pseudonyms_of(ids, raw_ids, None, KEY).tolist() == pseudonymise(ids, KEY).tolist()
