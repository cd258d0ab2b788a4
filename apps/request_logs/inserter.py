"""Bulk insert of request-log rows without building model instances.

`bulk_create` builds a `RequestLog` per row and compiles the INSERT each time; at hundreds of rows
a second that background work competed with the requests themselves for the GIL. The statement is
built once here; each value still goes through its field's own `get_db_prep_save`, so what lands
in the database is what `bulk_create` would have written.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Field

from .models import RequestLog


class RequestLogInserter:
    @cached_property
    def fields(self) -> list[Field[Any, Any]]:
        return [
            field
            for field in RequestLog._meta.concrete_fields
            if not field.primary_key and not getattr(field, "generated", False)
        ]

    def insert(self, rows: list[dict[str, Any]]) -> None:
        alias = router.db_for_write(RequestLog)
        connection = connections[alias]
        params = [[self._value(field, row, connection) for field in self.fields] for row in rows]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(self._sql(connection), params)

    def _sql(self, connection: Any) -> str:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        return f"INSERT INTO {quote(RequestLog._meta.db_table)} ({columns}) VALUES ({placeholders})"

    @staticmethod
    def _value(field: Field[Any, Any], row: dict[str, Any], connection: Any) -> Any:
        value = row[field.attname] if field.attname in row else row.get(field.name, field.get_default())
        return field.get_db_prep_save(value, connection)


request_log_inserter = RequestLogInserter()
