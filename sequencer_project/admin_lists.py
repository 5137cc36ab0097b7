"""Admin lists of tables that grow without bound, served by their indexes.

Django's changelist counts its rows for the paginator, lists a filter's choices with ``SELECT
DISTINCT`` over the whole table, and searches with ``UPPER(col::text) LIKE '%term%'``, which no
index serves. On 2.5 million audit rows each page took 0.6-1.6 s, and a commitments search 1.5 s
at 671,000 rows (docs/operations.md, "The operator admin on large tables"). Here:

- :class:`EstimatedCountPaginator`: an unfiltered list of a large table is sized by the planner's
  estimate; a filtered one is counted (its filters are indexed).
- :func:`indexed_values_filter`: a filter's choices by a loose index scan, one probe per value.
- :class:`IndexedSearch`: a term that reads as a UUID matches the declared UUID columns exactly,
  any other term is a prefix of the declared text columns (``LIKE 'term%'``, which a
  ``varchar_pattern_ops`` index serves).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from psycopg import sql

from sequencer_project.api.fields import parse_uuid_text
from sequencer_project.sql import SELECT_DISTINCT_BY_INDEX, SELECT_ESTIMATED_ROWS

#: Below this estimate a list is counted exactly (an estimate is off by up to ~10 %).
ESTIMATE_FROM = 100_000


def estimated_rows(table: str) -> int | None:
    """The planner's estimate of ``table``'s rows, ``None`` when it has none (never analyzed)."""
    with connection.cursor() as cursor:
        cursor.execute(SELECT_ESTIMATED_ROWS, {"table": table})
        (estimate,) = cursor.fetchone()
    return estimate if estimate is not None and estimate >= 0 else None


class EstimatedCountPaginator(Paginator[Any]):
    """Counts a filtered list; sizes an unfiltered one of a large table by the planner's estimate."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            estimate = estimated_rows(queryset.model._meta.db_table)
            if estimate is not None and estimate >= ESTIMATE_FROM:
                return estimate
        return int(super().count)


def indexed_values_filter(field: str, title: str) -> type[admin.SimpleListFilter]:
    """A list filter on ``field`` whose choices are found by a loose scan of an index leading with
    it (instead of Django's ``SELECT DISTINCT`` over the table)."""

    class IndexedValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
            model = model_admin.model
            column = model._meta.get_field(field).column
            query = sql.SQL(SELECT_DISTINCT_BY_INDEX).format(
                table=sql.Identifier(model._meta.db_table), column=sql.Identifier(column)
            )
            with connection.cursor() as cursor:
                cursor.execute(query.as_string(cursor.connection))
                return [(str(value), str(value)) for (value,) in cursor.fetchall()]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            return queryset if value is None else queryset.filter(**{field: value})

    IndexedValuesFilter.title = title
    IndexedValuesFilter.__name__ = f"{field.title().replace('_', '')}Filter"
    return IndexedValuesFilter


class IndexedSearch(admin.ModelAdmin[Any]):
    """Search by indexed columns only: ``uuid_search_fields`` equal to a UUID term,
    ``prefix_search_fields`` starting with any other term (case as written)."""

    uuid_search_fields: tuple[str, ...] = ()
    prefix_search_fields: tuple[str, ...] = ()

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (*self.uuid_search_fields, *self.prefix_search_fields)  # shows the search box

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        as_uuid = parse_uuid_text(term)
        match = Q()
        if as_uuid is not None:
            for name in self.uuid_search_fields:
                match |= Q(**{name: as_uuid})
        match |= self.term_match(term)
        return (queryset.filter(match) if match else queryset.none()), False

    def term_match(self, term: str) -> Q:
        """What a term matches besides whole UUIDs: the start of each ``prefix_search_fields``."""
        match = Q()
        for name in self.prefix_search_fields:
            match |= Q(**{f"{name}__startswith": term})
        return match
