"""Conditions on a list of ids (accounts, numbers), in the form each database takes best."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, any_, bindparam, cast
from sqlalchemy.dialects.postgresql import ARRAY

# Ids per IN (...) list on SQLite, well under the 32,766 values it takes in one statement.
IDS_PER_LIST = 1000
# Ids per array on PostgreSQL: a dispatch round's accounts in one query.
IDS_PER_ARRAY = 20_000


def one_of(column: Any, values: list[str], dialect: str) -> Any:
    """``column`` is one of ``values``: on PostgreSQL as ``= ANY`` of one array parameter, passed on as
    it is, where SQLAlchemy writes an ``IN`` list out into the statement value by value (a tenth of a
    dispatch's time went to that, a thousand ids at a time)."""
    if dialect == "postgresql":
        return column == any_(cast(bindparam(None, values, type_=ARRAY(String)), ARRAY(String)))
    return column.in_(values)


def in_slices(values: list[str], dialect: str) -> list[list[str]]:
    """``values`` in slices small enough for one ``one_of`` each."""
    size = IDS_PER_ARRAY if dialect == "postgresql" else IDS_PER_LIST
    return [values[start : start + size] for start in range(0, len(values), size)]
