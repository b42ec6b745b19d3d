"""The API's edge for refusals: how errors become problems, and what the OpenAPI document says of them."""

from __future__ import annotations

from sqlalchemy.exc import DataError

from safegrade.api.problems import error_response
from safegrade.errors import Conflict, InvalidInput
from safegrade.store import translate
from tests.safegrade.api.conftest import PREFIX


def test_a_value_the_database_cannot_hold_is_invalid_input_not_a_store_failure():
    refused = translate(DataError("select …", {}, Exception("integer out of range")))
    assert isinstance(refused, InvalidInput)
    assert refused.code == "value_not_storable"
    assert error_response(refused).status_code == 422


def test_a_missing_if_match_is_428_and_a_stale_one_409_without_it():
    assert error_response(Conflict("…", code="precondition_required")).status_code == 428
    assert error_response(Conflict("…", code="version_moved")).status_code == 409  # no If-Match sent


def test_every_422_of_the_openapi_document_is_a_problem(api):
    doc = api.anonymous().get(f"{PREFIX}/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    invalid = [op["responses"]["422"] for item in doc["paths"].values() for op in item.values()
               if "422" in op.get("responses", {})]
    assert invalid
    for response in invalid:
        assert response["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/ProblemDetails"}
        assert response["description"]
