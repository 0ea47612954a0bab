"""Pseudonyms: the values are a contract (panel linkage, stored fingerprints), so they stay
exactly HMAC-SHA256 of each id's text under the study's key."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from flows.privacy import pseudonymise

KEYS = [b"k" * 16, b"block-sized-key!" * 4, b"longer than one sha256 block " * 3]


def reference_digest(key: bytes, raw: object) -> str:
    return hmac.new(key, str(raw).encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("key", KEYS, ids=["short", "block", "long"])
def test_pseudonymise_gives_the_hmac_of_each_id_and_keeps_missing_ids_missing(key: bytes) -> None:
    ids = pd.Series(["R0001", "R0002", None, "R0001", "é-🙂", " 7", ""], dtype="str")
    pseudonyms = pseudonymise(ids, key)
    expected = [
        pd.NA if raw is None else reference_digest(key, raw)
        for raw in ["R0001", "R0002", None, "R0001", "é-🙂", " 7", ""]
    ]
    assert pseudonyms.dtype == "string"
    assert pseudonyms.isna().tolist() == [value is pd.NA for value in expected]
    assert pseudonyms.dropna().tolist() == [value for value in expected if value is not pd.NA]


def test_pseudonymise_hashes_ids_of_other_dtypes_as_their_text() -> None:
    key = KEYS[0]
    ids = pd.Series([12, 3.5, None, np.nan, "12"], dtype=object, index=[4, 5, 6, 7, 8])
    pseudonyms = pseudonymise(ids, key)
    assert pseudonyms.index.tolist() == [4, 5, 6, 7, 8]
    assert pseudonyms.isna().tolist() == [False, False, True, True, False]
    assert pseudonyms[4] == pseudonyms[8] == reference_digest(key, "12")
    assert pseudonyms[5] == reference_digest(key, 3.5)


def test_pseudonymise_of_no_ids_is_empty() -> None:
    assert pseudonymise(pd.Series([], dtype="str"), KEYS[0]).empty
