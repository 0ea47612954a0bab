"""A team keeps the pseudonym key in a Prefect Secret on its server."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import StudyFileError
from flows.privacy import KEY_FILE_NAME, pseudonym_key, secret_block_name


@pytest.mark.usefixtures("prefect_harness")
def test_the_pseudonym_key_comes_from_the_studys_prefect_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    for name in ("TRUSTSHIFT_PSEUDONYM_KEY", "TRUSTSHIFT_PSEUDONYM_KEY_SECRET_STUDY"):
        monkeypatch.delenv(name, raising=False)
    assert secret_block_name("secret_study") == "trustshift-pseudonym-key-secret-study"
    Secret(value="a-team-key-kept-on-the-server").save(
        secret_block_name("secret_study"), overwrite=True
    )
    assert pseudonym_key("secret_study", tmp_path) == b"a-team-key-kept-on-the-server"
    assert not (tmp_path / KEY_FILE_NAME).exists()

    # The environment still wins, and a study without a Secret falls back to the key file.
    monkeypatch.setenv("TRUSTSHIFT_PSEUDONYM_KEY_SECRET_STUDY", "an-environment-key-0123")
    assert pseudonym_key("secret_study", tmp_path) == b"an-environment-key-0123"
    assert len(pseudonym_key("other_study", tmp_path)) == 64
    assert (tmp_path / KEY_FILE_NAME).is_file()

    Secret(value="short").save(secret_block_name("short_key"), overwrite=True)
    with pytest.raises(
        StudyFileError, match=r"Prefect Secret 'trustshift-pseudonym-key-short-key'"
    ):
        pseudonym_key("short_key", tmp_path)
