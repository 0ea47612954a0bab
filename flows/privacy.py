"""Pseudonymise respondent ids with a keyed hash so panel waves link without the raw id."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from flows.errors import StudyFileError

KEY_ENVIRONMENT_PREFIX = "TRUSTSHIFT_PSEUDONYM_KEY"
KEY_FILE_NAME = ".pseudonym-key"
_MINIMUM_KEY_BYTES = 16


def key_variable_name(study_id: str) -> str:
    """The environment variable that holds a study's key, e.g. TRUSTSHIFT_PSEUDONYM_KEY_EXAMPLE."""
    return f"{KEY_ENVIRONMENT_PREFIX}_{re.sub(r'[^A-Z0-9]', '_', study_id.upper())}"


def pseudonym_key(study_id: str, archive: Path) -> bytes:
    """The study's HMAC key: from the environment, else a key file kept in the raw archive.

    The key never enters the warehouse. Kept beside the raw files (the only zone that holds
    identifying data) it lets a single-machine evaluator link waves with nothing to set up; a
    team sets the environment variable (or a Prefect Secret feeding it) instead.
    """
    for name in (key_variable_name(study_id), KEY_ENVIRONMENT_PREFIX):
        value = os.environ.get(name)
        if value:
            key = value.encode("utf-8")
            if len(key) < _MINIMUM_KEY_BYTES:
                raise StudyFileError(
                    f"pseudonym_key: {name} holds a key of {len(key)} bytes; at least "
                    f"{_MINIMUM_KEY_BYTES} are needed. Set it to a long random string, e.g. "
                    "`python -c 'import secrets; print(secrets.token_hex(32))'`."
                )
            return key
    key_file = archive / KEY_FILE_NAME
    if key_file.is_file():
        return key_file.read_text(encoding="utf-8").strip().encode("utf-8")
    archive.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(32)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token.encode("utf-8")


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of each id (hex). Missing ids stay missing."""
    cache: dict[str, str] = {}

    def digest(raw: object) -> object:
        if raw is None or (isinstance(raw, float) and pd.isna(raw)) or raw is pd.NA:
            return pd.NA
        text = str(raw)
        if text not in cache:
            cache[text] = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return cache[text]

    return values.map(digest).astype("string")
