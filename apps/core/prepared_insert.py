"""INSERT of a model's rows without building model instances, for the tables written on every request.

`Model.objects.create` builds an instance, runs its signals and compiles the INSERT each time; at
hundreds of rows a second that cost competes with the requests themselves for the GIL
(docs/benchmarks.md). Here the statement is built once per database; each value still goes through
its field's own `get_db_prep_save`, so what lands in the database is what the ORM would write. No
signals are sent: use it only for models that have no receivers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from django.db import connections, router, transaction
from django.db import models as db_models


class PreparedInsert:
    def __init__(self, model: type[db_models.Model], *, unless_exists: str | None = None) -> None:
        """`unless_exists`: a unique column; a row whose value is there already is skipped, not an
        error (`ON CONFLICT DO NOTHING`, PostgreSQL and SQLite alike)."""
        self.model = model
        self.unless_exists = unless_exists
        self._statements: dict[str, str] = {}  # per database alias

    @cached_property
    def fields(self) -> list[db_models.Field[Any, Any]]:
        return [
            field
            for field in self.model._meta.concrete_fields
            if not field.primary_key and not getattr(field, "generated", False)
        ]

    def insert_one(self, row: Mapping[str, Any]) -> bool:
        """Insert in the caller's transaction; False when `unless_exists` found the row there."""
        alias, connection = self._connection()
        with connection.cursor() as cursor:
            cursor.execute(self._sql(alias, connection), self._params(row, connection))
            return bool(cursor.rowcount)

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert all of `rows` in one transaction, or none of them."""
        alias, connection = self._connection()
        params = [self._params(row, connection) for row in rows]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(self._sql(alias, connection), params)

    def _connection(self) -> tuple[str, Any]:
        alias = router.db_for_write(self.model)
        return alias, connections[alias]

    def _sql(self, alias: str, connection: Any) -> str:
        sql = self._statements.get(alias)
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(field.column) for field in self.fields)
            placeholders = ", ".join(["%s"] * len(self.fields))
            sql = f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) VALUES ({placeholders})"
            if self.unless_exists is not None:
                column = self.model._meta.get_field(self.unless_exists).column  # type: ignore[union-attr]
                sql += f" ON CONFLICT ({quote(column)}) DO NOTHING"
            self._statements[alias] = sql
        return sql

    def _params(self, row: Mapping[str, Any], connection: Any) -> list[Any]:
        return [self._value(field, row, connection) for field in self.fields]

    @staticmethod
    def _value(field: db_models.Field[Any, Any], row: Mapping[str, Any], connection: Any) -> Any:
        value = row[field.attname] if field.attname in row else row.get(field.name, field.get_default())
        return field.get_db_prep_save(value, connection)
