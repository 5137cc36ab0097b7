"""Counts of the x402 endpoints: every refusal names the endpoint's real range, the same way
however far out of it the value is (a limit of 2^63 was once refused as "at most 2^63 - 1")."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.conftest import Persona

pytestmark = pytest.mark.django_db

HUGE = ["9223372036854775807", "9223372036854775808", "18446744073709551616", "9" * 40]


def _list(owner: Persona, **params: str) -> Any:
    return owner.client.get("/api/v1/x402/payments", {"tenant_id": str(owner.tenant_id), **params})


def _problem(response: Any, status: int, code: str, detail: str) -> None:
    body = response.json()
    assert (response.status_code, body["code"], body["detail"]) == (status, code, detail)


@pytest.mark.parametrize("value", ["1001", *HUGE])
def test_every_limit_above_1000_is_the_references_413_naming_the_range(owner: Persona, value: str) -> None:
    _problem(_list(owner, limit=value), 413, "batch_too_large", "'limit' must be an integer from 1 to 1000.")


@pytest.mark.parametrize("value", ["0", "-1", "-9223372036854775809", "ten", "1.5", "+5", "\u0661\u0660", " 5"])
def test_a_limit_below_1_or_not_an_integer_is_400_naming_the_range(owner: Persona, value: str) -> None:
    _problem(_list(owner, limit=value), 400, "invalid_parameter", "'limit' must be an integer from 1 to 1000.")


@pytest.mark.parametrize("value", ["10001", *HUGE, "-1", "x"])
def test_every_offset_outside_0_to_10000_is_400_naming_the_range(owner: Persona, value: str) -> None:
    _problem(_list(owner, offset=value), 400, "invalid_parameter", "'offset' must be an integer from 0 to 10000.")


@pytest.mark.parametrize(("limit", "offset"), [("1", "0"), ("1000", "10000"), ("0001000", "000")])
def test_the_ends_of_the_ranges_and_leading_zeros_are_read(owner: Persona, limit: str, offset: str) -> None:
    response = _list(owner, limit=limit, offset=offset)

    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("name", ["limit", "offset"])
def test_a_limit_or_offset_given_without_a_value_is_400_naming_it(owner: Persona, name: str) -> None:
    _problem(
        _list(owner, **{name: ""}),
        400,
        "invalid_parameter",
        f"Query parameter '{name}' is empty; leave it out or give it a value.",
    )


def _create_batch(owner: Persona, max_size: int) -> Any:
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)}
    text = orjson.dumps(body).decode()[:-1] + f',"max_size":{max_size}}}'  # orjson stops at 64 bits
    return owner.client.post("/api/v1/x402/batches", data=text, content_type="application/json")


@pytest.mark.parametrize("max_size", [1001, 2**63 - 1, 2**63, 2**64 - 1])
def test_every_batch_max_size_above_1000_is_413_naming_the_range(owner: Persona, max_size: int) -> None:
    # The reference's max_size is a usize: all of u64 reaches its 413.
    response = _create_batch(owner, max_size)

    _problem(response, 413, "batch_too_large", "'max_size' must be an integer from 1 to 1000.")


def test_a_batch_max_size_of_0_is_400_and_past_u64_the_extractors_422(owner: Persona) -> None:
    _problem(_create_batch(owner, 0), 400, "invalid_batch_request", "'max_size' must be an integer from 1 to 1000.")
    assert _create_batch(owner, 2**64).status_code == 422
    assert _create_batch(owner, -1).status_code == 422
