"""The GitHub contract checker catches what GitHub would reject, and accepts the contract's own examples."""

from __future__ import annotations

import json

import pytest

from tests.contracts.github_contract import GitHubContract, openapi_to_jsonschema

HEADERS = {"Authorization": "Bearer ghp_x", "Accept": "application/vnd.github+json",
           "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "switchman", "Content-Type": "application/json"}
DISPATCH = "/repos/acme/api/actions/workflows/deploy.yml/dispatches"


@pytest.fixture(scope="module")
def contract() -> GitHubContract:
    return GitHubContract.load()


def test_every_operation_is_loaded_and_matched(contract: GitHubContract) -> None:
    assert len(contract.operations) == 20
    status = contract.match("GET", "/repos/a/b/commits/heads/feature/x/status")
    assert status is not None and status.operation.operation_id == "repos/get-combined-status-for-ref"
    assert status.path_values["ref"] == "heads/feature/x"
    compare = contract.match("GET", "/repos/a/b/compare/v1...feature/y")
    assert compare is not None and compare.path_values["basehead"] == "v1...feature/y"
    assert contract.match("DELETE", "/repos/a/b/deployments") is None


def test_a_good_dispatch_passes(contract: GitHubContract) -> None:
    body = json.dumps({"ref": "main", "inputs": {"stage": "10"}, "return_run_details": True}).encode()
    assert contract.check_request("POST", DISPATCH, [], HEADERS, body) == []


@pytest.mark.parametrize(("query", "headers", "body", "problem"), [
    ([("x", "1")], HEADERS, b'{"ref": "main"}', "query parameter 'x' is not declared"),
    ([], {**HEADERS, "X-GitHub-Api-Version": "2099-01-01"}, b'{"ref": "main"}', "header x-github-api-version"),
    ([], {k: v for k, v in HEADERS.items() if k != "User-Agent"}, b'{"ref": "main"}', "header user-agent"),
    ([], HEADERS, b'{"inputs": {}}', "'ref' is a required property"),
    ([], HEADERS, b"", "request body required"),
])
def test_bad_requests_are_named(contract: GitHubContract, query: list[tuple[str, str]], headers: dict[str, str],
                                body: bytes, problem: str) -> None:
    problems = contract.check_request("POST", DISPATCH, query, headers, body)
    assert any(problem in p for p in problems), problems


def test_query_values_and_path_parameters_are_typed(contract: GitHubContract) -> None:
    problems = contract.check_request("GET", "/repos/a/b/actions/runs/abc/jobs", [("filter", "newest")],
                                      HEADERS, b"")
    assert len(problems) == 2 and "run_id='abc'" in problems[0] and "filter='newest'" in problems[1]


def test_responses_are_checked_per_status(contract: GitHubContract) -> None:
    run = contract.example("workflow-run")
    assert contract.check_response("GET", "/repos/a/b/actions/runs/1", 200, run) == []
    assert contract.check_response("GET", "/repos/a/b/actions/runs/1", 200, {**run, "id": "1"}) != []
    assert contract.check_response("POST", DISPATCH, 204, None) == []
    assert contract.check_response("POST", DISPATCH, 204, {}) != []  # 204 has no body
    assert contract.check_response("POST", DISPATCH, 201, {}) != []  # not a status of this operation
    assert contract.check_response("GET", "/repos/a/b/actions/runs/1", 503, {"message": "down"}) == []


def test_nullable_becomes_a_null_alternative() -> None:
    assert openapi_to_jsonschema({"type": "string", "nullable": True, "enum": ["a"]}) == \
        {"type": ["string", "null"], "enum": ["a", None]}
    assert openapi_to_jsonschema({"oneOf": [{"type": "integer"}], "nullable": True}) == \
        {"anyOf": [{"oneOf": [{"type": "integer"}]}, {"type": "null"}]}
