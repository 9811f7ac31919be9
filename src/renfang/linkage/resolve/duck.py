"""Small helpers over DuckDB connections."""

from __future__ import annotations

from typing import Any

import duckdb


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first value of the first row (fetching every row: DuckDB refuses new work on a
    connection with a result not read to its end)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    value = scalar(con, sql, params)
    return int(value) if value is not None else 0
