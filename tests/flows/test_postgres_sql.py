"""DuckDB SQL as PostgreSQL reads it, and how a study chooses its warehouse (no server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flows.errors import StudyFileError, WarehouseError
from flows.postgres_warehouse import (
    PostgresWarehouse,
    masked_url,
    split_statements,
    to_postgres,
)
from flows.study import load_study
from flows.warehouse import (
    WAREHOUSE_ENVIRONMENT_VARIABLE,
    WAREHOUSE_URL_ENVIRONMENT_VARIABLE,
    warehouse_path,
)


def test_to_postgres_turns_placeholders_into_psycopg_ones_and_doubles_a_percent_sign() -> None:
    sql = "SELECT * FROM waves WHERE study_id = ? AND file_name LIKE '%.csv' AND wave = ?"
    assert to_postgres(sql, parameters=True) == (
        "SELECT * FROM waves WHERE study_id = %s AND file_name LIKE '%.csv' AND wave = %s"
    )


def test_to_postgres_leaves_a_question_mark_in_quotes_and_comments_alone() -> None:
    sql = "SELECT 'why?' AS \"what?\", x -- really?\nFROM t WHERE y = ?"
    assert to_postgres(sql, parameters=True) == (
        "SELECT 'why?' AS \"what?\", x -- really?\nFROM t WHERE y = %s"
    )


def test_to_postgres_keeps_percent_signs_when_no_parameters_are_passed() -> None:
    assert to_postgres("SELECT '100%' AS share", parameters=False) == "SELECT '100%' AS share"


def test_to_postgres_spells_duckdb_types_as_postgresql_does() -> None:
    ddl = "CREATE TABLE t (a DOUBLE, b TINYINT, c DOUBLE PRECISION, d VARCHAR DEFAULT 'DOUBLE')"
    assert to_postgres(ddl, parameters=False) == (
        "CREATE TABLE t (a DOUBLE PRECISION, b SMALLINT, c DOUBLE PRECISION, "
        "d VARCHAR DEFAULT 'DOUBLE')"
    )


def test_to_postgres_keeps_a_doubled_quote_inside_a_string() -> None:
    sql = "SELECT 'it''s ?' AS a, ? AS b"
    assert to_postgres(sql, parameters=True) == "SELECT 'it''s ?' AS a, %s AS b"


def test_split_statements_splits_a_script_on_semicolons_outside_quotes() -> None:
    script = (
        "CREATE TABLE a (x VARCHAR DEFAULT ';');\n-- a comment; still a comment\n"
        ";ALTER TABLE a ADD COLUMN y INTEGER;\n"
    )
    assert split_statements(script) == [
        "CREATE TABLE a (x VARCHAR DEFAULT ';')",
        "ALTER TABLE a ADD COLUMN y INTEGER",
    ]


def test_a_postgresql_warehouse_never_shows_its_password() -> None:
    warehouse = PostgresWarehouse("postgresql://team:s3cret@db.example.org:5433/trustshift")
    assert str(warehouse) == "postgresql://team:***@db.example.org:5433/trustshift"
    assert "s3cret" not in repr(warehouse)
    assert masked_url("postgresql://team@db/trustshift") == "postgresql://team@db/trustshift"


def _with_warehouse(study_file: Path, section: str) -> Path:
    study_file.write_text(study_file.read_text(encoding="utf-8") + section, encoding="utf-8")
    return study_file


def test_a_study_file_url_chooses_the_postgresql_warehouse(
    small_study: Callable[..., Path],
) -> None:
    study_file = _with_warehouse(
        small_study(), '\n[warehouse]\nurl = "postgresql://team@db-host:5432/trustshift"\n'
    )
    location = warehouse_path(load_study(study_file))
    assert location == PostgresWarehouse("postgresql://team@db-host:5432/trustshift")


def test_without_a_url_the_warehouse_stays_the_duckdb_file(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    assert warehouse_path(study) == study.root / "warehouse" / "trustshift.duckdb"


def test_the_environment_url_wins_over_the_study_file(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    study_file = _with_warehouse(small_study(), '\n[warehouse]\nurl = "postgresql://a@h/one"\n')
    monkeypatch.setenv(WAREHOUSE_URL_ENVIRONMENT_VARIABLE, "postgresql://b:pw@h/two")
    assert warehouse_path(load_study(study_file)) == PostgresWarehouse("postgresql://b:pw@h/two")


def test_a_url_and_a_file_in_the_environment_are_refused_together(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(WAREHOUSE_URL_ENVIRONMENT_VARIABLE, "postgresql://b@h/two")
    monkeypatch.setenv(WAREHOUSE_ENVIRONMENT_VARIABLE, str(tmp_path / "w.duckdb"))
    with pytest.raises(WarehouseError, match="both TRUSTSHIFT_WAREHOUSE_URL and"):
        warehouse_path(load_study(small_study()))


def test_a_study_file_url_with_a_password_is_refused(small_study: Callable[..., Path]) -> None:
    study_file = _with_warehouse(
        small_study(), '\n[warehouse]\nurl = "postgresql://team:s3cret@db-host/trustshift"\n'
    )
    with pytest.raises(StudyFileError, match=r"warehouse\.url holds a password") as raised:
        load_study(study_file)
    assert "s3cret" not in str(raised.value)


def test_a_study_file_url_that_is_not_postgresql_is_refused(
    small_study: Callable[..., Path],
) -> None:
    study_file = _with_warehouse(small_study(), '\n[warehouse]\nurl = "mysql://db/trustshift"\n')
    with pytest.raises(StudyFileError, match=r"warehouse\.url must start with postgresql://"):
        load_study(study_file)
