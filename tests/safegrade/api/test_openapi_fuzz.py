"""The live OpenAPI document run through schemathesis against the ASGI app, as the bureau (bearer token):
no 5xx and every response conforms to its schema (status, content type, headers, body), on SQLite and on
PostgreSQL. Each operation gets a few generated cases (valid and invalid ones, and valid ones on a real
enterprise), so that a run stays well under a minute.

(schemathesis' own `from_fixture` parametrisation needs a pytest before 9: the operations are walked here.)"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.safegrade.api.conftest import PREFIX

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = 6


def _version(api: Any) -> int:
    from safegrade.services.enterprise import show_enterprise

    return show_enterprise(api.ctx(), api.e1).version


def _run(operation: Any, auth: dict[str, str], mode: GenerationMode, **fixed: Any) -> str | None:
    """One operation's generated cases; the first failure, in words, or None."""

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def check(case: Any) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:  # nothing invalid to send (an operation without parameters or body)
        return None
    except (Exception, BaseExceptionGroup) as exc:  # every failure is collected, then reported together
        return f"{operation.label} [{mode.value}{' ' + str(fixed) if fixed else ''}]: {exc}"[:1500]
    return None


@pytest.mark.slow
def test_no_server_error_and_every_answer_conforms(api_any):
    api = api_any
    schema = schemathesis.openapi.from_asgi(f"{PREFIX}/openapi.json", api.app)
    auth = {"Authorization": f"Bearer {api.token('bureau')}"}
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        runs: list[tuple[GenerationMode, dict[str, Any]]] = [(GenerationMode.POSITIVE, {}),
                                                             (GenerationMode.NEGATIVE, {})]
        if "{code}" in operation.path:
            runs.append((GenerationMode.POSITIVE, {"path_parameters": {"code": api.e1}}))
        if operation.method.upper() == "POST" and operation.path.endswith("/events"):  # past the If-Match
            version = _version(api)
            runs.append((GenerationMode.POSITIVE, {"path_parameters": {"code": api.e1},
                                                   "headers": {"If-Match": f'"{version}"'}}))
        for mode, fixed in runs:
            failure = _run(operation, auth, mode, **fixed)
            if failure:
                failures.append(failure)
    assert operations >= 5
    assert not failures, "\n\n".join(failures)
