"""Specs and sandbox do not drift apart.

Each operation of each spec is either emulated (answered by the app, not with "not emulated")
and exercised by a named test, or listed in NOT_EMULATED with the reason. And the other way:
every route the app serves under a vendor or control prefix is an operation of a spec.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route, Router

from passbox.app import create_app
from passbox.control.dashboard import is_dashboard
from passbox.core.resources import load_yaml, specs_dir
from passbox.settings import Settings

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

SEEKPASS_CHANNELS = "tests.control.test_channels::test_seekpass_outcomes_are_identical_through_all_three_channels"

# operationId -> the test that exercises it (module path :: function name).
EXERCISED: dict[str, str] = {
    # SEEK Pass
    "createAccessToken": "tests.seekpass.test_oauth::test_client_credentials_issue_an_hs512_jwt",
    "createAccessTokenWithoutSuffix": "tests.seekpass.test_oauth::test_client_credentials_issue_an_hs512_jwt",
    "createVerificationRequest": "tests.seekpass.test_requests::test_create_returns_201_with_the_redirect_uri",
    "getVerificationRequest": "tests.seekpass.test_requests::test_a_new_request_reads_incomplete_with_nulls",
    "getVerificationRequestWithoutSuffix": (
        "tests.seekpass.test_requests::test_a_new_request_reads_incomplete_with_nulls"
    ),
    "createWebhook": "tests.seekpass.test_webhooks_api::test_create_returns_the_secret_once",
    "listWebhooks": "tests.seekpass.test_webhooks_api::test_list_is_oldest_first",
    "updateWebhookByBodyId": "tests.seekpass.test_webhooks_api::test_update_with_the_id_in_the_body",
    "getWebhook": "tests.seekpass.test_webhooks_api::test_create_returns_the_secret_once",
    "updateWebhook": "tests.seekpass.test_webhooks_api::test_update_by_path_changes_only_the_given_fields",
    "deleteWebhook": "tests.seekpass.test_webhooks_api::test_delete_then_404",
    "rotateWebhookSecret": "tests.seekpass.test_webhooks_api::test_rotate_gives_a_new_secret",
    # VerifyPass
    "createApplicantToken": "tests.verifypass.test_token_api::test_a_token_carries_the_fields_given",
    "getActivity": "tests.verifypass.test_reporting::test_a_record_has_the_documented_fields",
    "getActivityAlias": "tests.verifypass.test_reporting::test_the_alias_path_answers_the_same",
    # Control plane
    "listScenarios": "tests.control.test_scenarios::test_the_catalogue_comes_from_the_code_tables",
    "getClock": "tests.control.test_clock::test_read_freeze_advance_release",
    "changeClock": "tests.control.test_clock::test_read_freeze_advance_release",
    "reset": "tests.control.test_inspection::test_a_full_reset_returns_to_fixtures_and_seed",
    "listFaults": "tests.control.test_faults::test_rules_are_listed_and_removed",
    "addFault": "tests.control.test_faults::test_an_error_in_each_vendors_shape",
    "clearFaults": "tests.control.test_faults::test_rules_are_listed_and_removed",
    "deleteFault": "tests.control.test_faults::test_rules_are_listed_and_removed",
    "listWebhookFaults": "tests.control.test_faults::test_webhook_faults_are_listed_removed_and_validated",
    "addWebhookFault": "tests.control.test_faults::test_fail_the_next_deliveries",
    "clearWebhookFaults": "tests.control.test_faults::test_webhook_faults_are_listed_removed_and_validated",
    "deleteWebhookFault": "tests.control.test_faults::test_webhook_faults_are_listed_removed_and_validated",
    "listJournal": "tests.control.test_inspection::test_the_journal_filters",
    "listDeliveries": "tests.control.test_inspection::test_deliveries_are_listed_filtered_and_redelivered",
    "getDelivery": "tests.control.test_inspection::test_deliveries_are_listed_filtered_and_redelivered",
    "redeliver": "tests.control.test_inspection::test_deliveries_are_listed_filtered_and_redelivered",
    "listSeekPassRequests": "tests.control.test_control_api::test_seekpass_requests_are_listed",
    "completeSeekPassRequest": SEEKPASS_CHANNELS,
    "cancelSeekPassRequest": SEEKPASS_CHANNELS,
    "expireSeekPassRequest": SEEKPASS_CHANNELS,
    "createVerifyPassVerification": (
        "tests.control.test_channels::test_verifypass_outcomes_are_identical_through_all_three_channels"
    ),
    "listVerifyPassActivity": "tests.control.test_control_api::test_activity_lists_negative_ones_too",
    "getJournalEntry": "tests.control.test_dashboard::test_the_journal_page_links_each_entry",
    "listSeekPassPartners": "tests.control.test_dashboard::test_partners_and_missing_items_as_json",
    "getSeekPassRequest": "tests.control.test_dashboard::test_requests_can_be_completed_and_canceled_from_the_dashboard",  # noqa: E501
    "getVerifyPassActivity": "tests.control.test_dashboard::test_activity_deliveries_and_redelivery",
    "listVerifyPassAccounts": "tests.verifypass.test_verification::test_the_configuration_lists_accounts_and_widgets",
    "setVerifyPassAccountWebhook": (
        "tests.verifypass.test_verification::test_widget_and_account_urls_both_get_the_event"
    ),
    "setVerifyPassWidgetWebhook": "tests.verifypass.test_verification::test_widget_and_account_urls_both_get_the_event",
}

# operationId -> why the sandbox does not emulate it (none today).
NOT_EMULATED: dict[str, str] = {}


def operations() -> Iterator[tuple[str, str, str, str]]:
    """(spec, operationId, METHOD, path) of every operation of every bundled spec."""
    for path in sorted(specs_dir().glob("*.openapi.yaml")):
        document: Any = load_yaml(path.read_bytes())
        for route, item in document.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    yield path.name.removesuffix(".openapi.yaml"), item[method]["operationId"], method.upper(), route


OPERATIONS = list(operations())


def test_every_operation_is_accounted_for() -> None:
    ids = [operation_id for _, operation_id, _, _ in OPERATIONS]
    assert len(ids) == len(set(ids)), "operationIds must be unique across the specs"
    unaccounted = sorted(set(ids) - set(EXERCISED) - set(NOT_EMULATED))
    assert unaccounted == [], f"add these to EXERCISED (with a test) or NOT_EMULATED (with a reason): {unaccounted}"
    assert set(EXERCISED) & set(NOT_EMULATED) == set()
    stale = sorted((set(EXERCISED) | set(NOT_EMULATED)) - set(ids))
    assert stale == [], f"no longer in any spec: {stale}"


@pytest.mark.parametrize("operation_id", sorted(EXERCISED))
def test_the_named_test_exists(operation_id: str) -> None:
    module_name, function = EXERCISED[operation_id].split("::")
    assert callable(getattr(importlib.import_module(module_name), function, None)), EXERCISED[operation_id]


def sample_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", template)


@pytest.mark.parametrize(("spec", "operation_id", "method", "path"), OPERATIONS, ids=[o[1] for o in OPERATIONS])
async def test_each_operation_is_routed_unless_listed_as_not_emulated(
    spec: str, operation_id: str, method: str, path: str
) -> None:
    app = create_app(Settings(seed=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as client:
        response = await client.request(method, sample_path(path))
    not_emulated = response.status_code == 404 and "not emulated" in response.text
    routed = not (not_emulated or response.status_code == 405)
    if operation_id in NOT_EMULATED:
        assert not routed, f"{operation_id} is listed as not emulated but the app answers it"
    else:
        assert routed, f"{method} {path} ({operation_id}) is in the {spec} spec but the app does not serve it"


def app_routes() -> Iterator[tuple[str, str]]:
    """(METHOD, path template) of every route of a fresh app, mounts flattened."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            if isinstance(route, Route):
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        # A converter ({id:path}) is the app's business; the spec names the parameter.
                        yield method, re.sub(r"\{(\w+):\w+\}", r"{\1}", prefix + route.path)
            elif isinstance(route, Mount):
                inner = route.app
                while not isinstance(inner, Router) and hasattr(inner, "app"):
                    inner = inner.app
                assert isinstance(inner, Router), f"cannot see inside the mount at {route.path}"
                yield from walk(inner.routes, prefix + route.path)

    yield from walk(create_app(Settings(seed=1)).routes, "")


VENDOR_PREFIXES = ("/api/", "/_sandbox/")


def test_every_api_route_of_the_app_is_in_a_spec() -> None:
    documented = {(method, re.sub(r"\.json$", "", path)) for _, _, method, path in OPERATIONS}
    served = {
        (method, path)
        for method, path in app_routes()
        if path.startswith(VENDOR_PREFIXES) and not is_dashboard(path.split("{")[0])
    }
    # Route parameters are named the same in the app and the specs.
    undocumented = sorted(served - documented)
    assert undocumented == [], f"served but in no spec: {undocumented}"


def test_fault_rules_can_name_every_operation_and_only_those() -> None:
    document: Any = load_yaml((specs_dir() / "sandbox.openapi.yaml").read_bytes())
    offered = document["components"]["schemas"]["FaultRuleCreate"]["properties"]["operation"]["enum"]
    app = create_app(Settings(seed=1))
    known = app.state.sandbox.context.index.ids()
    assert sorted(offered) == sorted(["*", *known])
