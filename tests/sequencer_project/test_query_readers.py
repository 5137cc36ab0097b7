"""Query parameters are read by ``sequencer_project.api.fields`` (400 ``invalid_parameter`` naming
the parameter) and a read's tenant by one rule (``sequencer_project.api.tenancy``); no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from payments.hashing import ASSETS, canonical_asset
from sequencer_project.api.errors import InvalidParameterError, TenantAccessDeniedError
from sequencer_project.api.fields import (
    path_text,
    query_bool,
    query_choice,
    query_int_in,
    query_int_optional,
    query_text,
    query_timestamp,
    query_uuid_optional,
)
from sequencer_project.api.principal import Principal
from sequencer_project.api.tenancy import TenantApiMixin, query_tenant_in, tenant_scope_of
from sequencer_project.db.tenant_scope import EVERY_TENANT, tenant_filter, tenant_id_param, visible_or_not_found

TENANT, OTHER, STORE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
ADMIN = Principal(tenant_id=None, can_read=True, can_write=True, can_admin=True, kind="bootstrap")
READER = Principal(tenant_id=TENANT, can_read=True, can_write=False, can_admin=False)
STORE_READER = Principal(
    tenant_id=TENANT, can_read=True, can_write=False, can_admin=False, store_ids=frozenset({STORE})
)


def _request(**params: str) -> Request:
    return Request(APIRequestFactory().get("/", params))


def _refused(parameter: str) -> pytest.RaisesExc[InvalidParameterError]:
    return pytest.raises(InvalidParameterError, check=lambda e: e.extensions["parameter"] == parameter)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02t03:04:05.5z", datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("2026-01-02T05:04:05+02:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_a_query_timestamp_is_rfc_3339_read_in_utc(raw: str, expected: datetime) -> None:
    assert query_timestamp(_request(at=raw), "at") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2026-01-02",  # a date alone
        "2026-01-02T03:04:05",  # no offset
        "20260102T030405Z",  # ISO 8601 basic format, which datetime.fromisoformat reads
        "2026-01-02T03:04Z",  # no seconds, which datetime.fromisoformat reads
        "2026-W01-1T00:00:00Z",  # an ISO week date, which datetime.fromisoformat reads
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "now",
    ],
)
def test_anything_but_an_rfc_3339_timestamp_is_an_invalid_parameter(raw: str) -> None:
    with _refused("at"):
        query_timestamp(_request(at=raw), "at")


def test_an_absent_query_parameter_reads_as_absent() -> None:
    absent = _request()
    assert query_timestamp(absent, "at") is None
    assert query_bool(absent, "at") is None
    assert query_choice(absent, "at", ("a",)) is None
    assert query_int_in(absent.query_params, "at", default=7, minimum=0) == 7


@pytest.mark.parametrize(
    "read",
    [
        lambda r: query_timestamp(r, "at"),
        lambda r: query_bool(r, "at"),
        lambda r: query_choice(r, "at", ("a",)),
        lambda r: query_uuid_optional(r, "at"),
        lambda r: query_int_in(r.query_params, "at", default=7, minimum=0),
        lambda r: query_int_optional(r, "at", minimum=0),
    ],
    ids=["timestamp", "bool", "choice", "uuid", "int", "optional int"],
)
def test_a_query_parameter_given_without_a_value_is_refused_not_read_as_absent(read: Any) -> None:
    # ?at= is a client's mistake (the reference's typed query refuses it too), never the default
    with _refused("at"):
        read(_request(at=""))


def test_a_blank_free_text_filter_is_no_filter() -> None:
    for blank in ("", " ", "\t", " \t\n"):
        assert query_text(_request(at=blank), "at") is None, repr(blank)
    assert query_text(_request(at=" 0xab\t"), "at") == "0xab"  # the white space around a value is not part of it


def test_an_empty_tenant_id_is_refused_not_read_as_the_credentials_tenant() -> None:
    with _refused("tenant_id"):
        query_tenant_in(_request(tenant_id="").query_params, READER)


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("TRUE", True), ("1", True), ("False", False), ("0", False)]
)
def test_a_query_boolean_is_true_or_false_or_one_or_zero(raw: str, expected: bool) -> None:
    assert query_bool(_request(flag=raw), "flag") is expected


@pytest.mark.parametrize("raw", ["yes", "2", "t", " true", "true\x00"])
def test_another_boolean_word_is_an_invalid_parameter(raw: str) -> None:
    with _refused("flag"):
        query_bool(_request(flag=raw), "flag")


def test_a_query_choice_is_exact_unless_a_canonical_spelling_is_given() -> None:
    assert query_choice(_request(status="sequenced"), "status", ("sequenced", "batched")) == "sequenced"
    with _refused("status"):
        query_choice(_request(status="SEQUENCED"), "status", ("sequenced", "batched"))
    assert query_choice(_request(asset="SS_USD"), "asset", ASSETS, canonical=canonical_asset) == "ssusd"
    with _refused("asset"):
        query_choice(_request(asset="doge"), "asset", ASSETS, canonical=canonical_asset)
    with _refused("status"):  # PostgreSQL text cannot hold it: refused before any comparison
        query_choice(_request(status="a\x00"), "status", ("a\x00",))


def test_a_reads_tenant_defaults_to_the_credentials_and_the_bootstrap_admin_must_name_one() -> None:
    assert query_tenant_in({}, READER) == TENANT
    assert query_tenant_in({"tenant_id": str(OTHER)}, READER) == OTHER  # named: the caller authorises it
    assert query_tenant_in({"tenant_id": str(OTHER)}, ADMIN) == OTHER
    with _refused("tenant_id"):
        query_tenant_in({}, ADMIN)
    with _refused("tenant_id"):
        query_tenant_in({"tenant_id": "nope"}, READER)


def test_every_tenant_is_only_the_bootstrap_admins_unnamed_tenant_and_required_refuses_every_default() -> None:
    assert query_tenant_in({}, ADMIN, every_tenant=True) is EVERY_TENANT
    assert query_tenant_in({}, READER, every_tenant=True) == TENANT
    assert query_tenant_in({"tenant_id": str(OTHER)}, ADMIN, every_tenant=True) == OTHER
    for principal in (READER, ADMIN):
        with _refused("tenant_id"):
            query_tenant_in({}, principal, required=True)
    assert query_tenant_in({"tenant_id": str(OTHER)}, READER, required=True) == OTHER


def test_the_tenant_scope_of_a_read_by_id_is_every_tenant_for_the_bootstrap_admin_alone() -> None:
    assert tenant_scope_of(ADMIN) is EVERY_TENANT
    assert tenant_scope_of(READER) == TENANT
    tenantless = Principal(tenant_id=None, can_read=True, can_write=False, can_admin=False)
    with pytest.raises(TenantAccessDeniedError):
        tenant_scope_of(tenantless)


def test_the_store_scope_is_none_for_every_store() -> None:
    assert ADMIN.store_scope is None
    assert READER.store_scope is None
    assert STORE_READER.store_scope == frozenset({STORE})
    scoped_admin = Principal(
        tenant_id=None, can_read=True, can_write=True, can_admin=True, store_ids=frozenset({STORE})
    )
    assert scoped_admin.store_scope is None  # the bootstrap admin sees every store whatever it holds


def test_a_tenant_filter_never_reads_none_as_every_tenant() -> None:
    assert tenant_id_param(TENANT) == TENANT
    assert tenant_id_param(EVERY_TENANT) is None
    assert tenant_filter(TENANT) == {"tenant_id": TENANT}
    assert tenant_filter(EVERY_TENANT) == {}
    for wrong in (None, str(TENANT)):
        with pytest.raises(TypeError, match="EVERY_TENANT"):
            tenant_filter(wrong)  # type: ignore[arg-type]


def test_what_the_caller_may_not_see_reads_as_not_found() -> None:
    row = type("Row", (), {"tenant_id": TENANT, "store_id": STORE})()

    class Missing(Exception):
        pass

    assert visible_or_not_found(row, READER.can_see, Missing) is row
    with pytest.raises(Missing):
        visible_or_not_found(
            row, Principal(tenant_id=OTHER, can_read=True, can_write=False, can_admin=False).can_see, Missing
        )
    with pytest.raises(Missing):
        visible_or_not_found(None, ADMIN.can_see, Missing)


def test_a_view_may_not_override_the_tenant_scope() -> None:
    with pytest.raises(TypeError, match="tenant_scope"):
        type("Sneaky", (TenantApiMixin,), {"tenant_scope": property(lambda self: EVERY_TENANT)})


@pytest.mark.parametrize(
    ("value", "says"),
    [("", "must be 1 to 8 characters"), ("x" * 9, "must be 1 to 8 characters"), ("o1\x00", "must not hold NUL")],
)
def test_a_path_text_names_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(InvalidParameterError, match=says):
        path_text(value, "entity_id", 8)


@pytest.mark.parametrize(
    "raw",
    ["99999999999999999999", "-99999999999999999999", "1.5", "x", "9223372036854775808", "9999999999999999999"],
)
@pytest.mark.parametrize("maximum", [None, 100])
def test_an_integer_out_of_any_range_names_the_range(raw: str, maximum: int | None) -> None:
    """Past the bigint range is refused by any length, for a clamped parameter as well."""
    with pytest.raises(InvalidParameterError, match="must be an integer from 1 to 9223372036854775807"):
        query_int_in({"limit": raw}, "limit", default=10, minimum=1, maximum=maximum)


def test_a_clamped_parameter_reads_the_bigint_maximum_as_its_maximum() -> None:
    assert query_int_in({"limit": "9223372036854775807"}, "limit", default=10, minimum=1, maximum=100) == 100
    assert query_int_in({"limit": "101"}, "limit", default=10, minimum=1, maximum=100) == 100
