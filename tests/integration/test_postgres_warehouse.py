"""The PostgreSQL warehouse answers like the DuckDB file (a throwaway cluster)."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from flows.errors import WarehouseError
from flows.postgres_warehouse import PostgresWarehouse
from flows.warehouse import connect, has_table, insert_frame
from tests.integration.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.postgres

INTERVIEWS = pd.DataFrame(
    {
        "study_id": ["s", "s", "s"],
        "wave": ["baseline", "baseline", "endline"],
        "version": [1, 1, 1],
        "row_number": [1.0, 2.0, 3.0],  # floats into an INTEGER column, cast as DuckDB does
        "respondent": ["p1", None, "p3"],
        "cluster": ["c1", "c1", "c2"],
        "treated": [1, 0, 1],
        "weight": [1.5, np.nan, 0.1 + 0.2],
        "interview_start": [datetime(2026, 3, 1, 9, 30), pd.NaT, datetime(2026, 9, 1, 12, 0)],
        "consent": [1, 1, 0],
    }
)


def _read(location: Path | PostgresWarehouse, sql: str) -> pd.DataFrame:
    with connect(location, read_only=True) as connection:
        return connection.execute(sql).fetch_df()


@pytest.fixture
def both(postgres_cluster: PostgresCluster, tmp_path: Path, request: pytest.FixtureRequest):
    """A new PostgreSQL database and a new DuckDB file, each holding the same rows."""
    name = request.node.name.removeprefix("test_")[:40].lower()
    postgres = PostgresWarehouse(postgres_cluster.create_database(name))
    duckdb_file = tmp_path / "warehouse.duckdb"
    for location in (postgres, duckdb_file):
        with connect(location) as connection:
            insert_frame(connection, "interviews", INTERVIEWS)
    return postgres, duckdb_file


def test_a_frame_read_from_postgresql_equals_the_frame_read_from_duckdb(both) -> None:
    postgres, duckdb_file = both
    sql = "SELECT * FROM interviews ORDER BY row_number"
    from_postgres, from_duckdb = _read(postgres, sql), _read(duckdb_file, sql)
    pd.testing.assert_frame_equal(from_postgres, from_duckdb, check_exact=True)
    assert from_postgres["weight"].iloc[2] == 0.1 + 0.2  # every bit of a double survives
    assert str(from_postgres["treated"].dtype) == "int8"  # TINYINT, stored as SMALLINT


def test_aggregates_and_parameters_answer_the_same_in_both_warehouses(both) -> None:
    sql = (
        "SELECT wave, count(*) AS n, avg(weight) AS mean_weight, max(version) AS version, "
        "string_agg(cluster, ', ' ORDER BY cluster) AS clusters FROM interviews "
        "WHERE study_id = ? AND treated IN (?, ?) GROUP BY wave ORDER BY wave"
    )
    answers = []
    for location in both:
        with connect(location, read_only=True) as connection:
            answers.append(connection.execute(sql, ["s", 0, 1]).fetch_df())
    pd.testing.assert_frame_equal(answers[0], answers[1], check_exact=True)


def test_a_rolled_back_transaction_leaves_nothing_in_postgresql(both) -> None:
    postgres, _ = both
    with connect(postgres) as connection:
        connection.execute("BEGIN TRANSACTION")
        connection.execute("DELETE FROM interviews WHERE study_id = ?", ["s"])
        connection.execute("ROLLBACK")
        found = connection.execute("SELECT count(*) FROM interviews").fetchone()
    assert found == (3,)


def test_a_read_only_postgresql_connection_cannot_write(both) -> None:
    postgres, _ = both
    with (
        connect(postgres, read_only=True) as connection,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        connection.execute("DELETE FROM interviews")


def test_workers_opening_a_new_postgresql_warehouse_at_once_all_succeed(
    postgres_cluster: PostgresCluster,
) -> None:
    warehouse = PostgresWarehouse(postgres_cluster.create_database("opened_at_once"))
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            with connect(warehouse) as connection:
                assert has_table(connection, "runs")
        except BaseException as error:  # collected: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_database_ordered_by_a_language_collation_is_refused(
    postgres_cluster: PostgresCluster,
) -> None:
    postgres_cluster._run(
        str(postgres_cluster.bin / "createdb"),
        "-h",
        "127.0.0.1",
        "-p",
        str(postgres_cluster.port),
        "-U",
        "trustshift",
        "--template=template0",
        "--locale-provider=icu",
        "--icu-locale=en",
        "--locale=C",
        "ordered_by_language",
    )
    warehouse = PostgresWarehouse(postgres_cluster.url("ordered_by_language"))
    with pytest.raises(WarehouseError, match="needs code-point order"), connect(warehouse):
        pass


def test_an_unreachable_server_is_reported_without_the_password(
    postgres_cluster: PostgresCluster,
) -> None:
    warehouse = PostgresWarehouse("postgresql://nobody:s3cret@127.0.0.1:1/none")
    with pytest.raises(WarehouseError, match="cannot be reached") as raised, connect(warehouse):
        pass
    assert "s3cret" not in str(raised.value)
