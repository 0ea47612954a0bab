"""Pseudonymise respondent ids with a keyed hash so panel waves link without the raw id."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sys
from pathlib import Path

import pandas as pd

from flows.errors import StudyFileError

KEY_ENVIRONMENT_PREFIX = "TRUSTSHIFT_PSEUDONYM_KEY"
KEY_FILE_NAME = ".pseudonym-key"
_MINIMUM_KEY_BYTES = 16


def key_variable_name(study_id: str) -> str:
    """The environment variable that holds a study's key, e.g. TRUSTSHIFT_PSEUDONYM_KEY_EXAMPLE."""
    return f"{KEY_ENVIRONMENT_PREFIX}_{re.sub(r'[^A-Z0-9]', '_', study_id.upper())}"


def secret_block_name(study_id: str) -> str:
    """The Prefect Secret block that may hold a study's key: trustshift-pseudonym-key-<id>."""
    return "trustshift-pseudonym-key-" + study_id.replace("_", "-")


def _secret_value(study_id: str) -> str | None:
    """The key from a Prefect Secret block, when runs talk to a Prefect server that has one."""
    if "prefect" not in sys.modules and not os.environ.get("PREFECT_API_URL"):
        return None  # Prefect is not in play: importing it would cost a second for nothing.
    from prefect.settings import get_current_settings

    if not (os.environ.get("PREFECT_API_URL") or get_current_settings().api.url):
        return None  # a temporary in-process server holds no secrets of the team
    from prefect.blocks.system import Secret

    try:
        secret = Secret.load(secret_block_name(study_id))
    except ValueError:  # no such block
        return None
    return str(secret.get())  # type: ignore[union-attr]


def pseudonym_key(study_id: str, archive: Path) -> bytes:
    """The study's HMAC key: from the environment, a Prefect Secret, else a key file.

    In order: ``TRUSTSHIFT_PSEUDONYM_KEY_<STUDY_ID>``, ``TRUSTSHIFT_PSEUDONYM_KEY``, the Prefect
    Secret block ``trustshift-pseudonym-key-<study-id>`` on the configured Prefect server,
    else ``.pseudonym-key`` in the raw archive (created once). The key never enters the
    warehouse. Kept beside the raw files (the only zone that holds identifying data) it lets
    a single-machine evaluator link waves with nothing to set up; a team sets the
    environment variable or the Secret instead, the same on every worker.
    """
    candidates = [
        (name, os.environ.get(name))
        for name in (key_variable_name(study_id), KEY_ENVIRONMENT_PREFIX)
    ]
    candidates.append((f"Prefect Secret {secret_block_name(study_id)!r}", _secret_value(study_id)))
    for name, value in candidates:
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
    archive.mkdir(mode=0o700, parents=True, exist_ok=True)
    archive.chmod(0o700)
    token = secrets.token_hex(32)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token.encode("utf-8")


# A fixed message whose HMAC identifies a key without revealing it.
_FINGERPRINT_MESSAGE = b"trustshift pseudonym key fingerprint v1"


def key_fingerprint(key: bytes) -> str:
    """HMAC-SHA256 of a fixed message under the key (hex): recorded to tell a changed key."""
    return hmac.new(key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of each id (hex) under ``key``. Missing ids stay missing.

    Each distinct id is hashed once (``str`` of the value, UTF-8), from a copy of an HMAC
    object keyed once: the same digests as ``hmac.new(key, id, sha256)`` per value, without
    re-keying or a Python call per row.
    """
    if isinstance(values.dtype, pd.StringDtype):
        text = values
    else:
        # Another dtype (numbers, mixed objects): hash each id as the text str() gives it.
        text = pd.Series(
            [None if _is_missing(raw) else str(raw) for raw in values],
            index=values.index,
            dtype="string",
        )
    positions, uniques = pd.factorize(text, use_na_sentinel=True)
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(identifier: str) -> str:
        hasher = keyed.copy()
        hasher.update(identifier.encode("utf-8"))
        return hasher.hexdigest()

    digests = pd.array([digest(str(identifier)) for identifier in uniques], dtype="string")
    hashed = digests.take(positions, allow_fill=True)
    return pd.Series(hashed, index=values.index, dtype="string")


def _is_missing(raw: object) -> bool:
    return raw is None or raw is pd.NA or (isinstance(raw, float) and pd.isna(raw))
