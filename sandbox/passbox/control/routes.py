"""The control plane's route table under ``/_sandbox/``; the endpoints live in one module per
concern (state: scenarios, clock, reset; faults; inspection: journal, deliveries; one per vendor).

Bodies are validated with the control plane's own spec (specs/sandbox.openapi.yaml).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from passbox.control import PREFIX, faults, inspection, seekpass_api, state, verifypass_api
from passbox.core.routing import Route


def routes() -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/scenarios", state.scenarios, methods=["GET"]),
        Route(f"{PREFIX}/clock", state.clock, methods=["GET", "POST"]),
        Route(f"{PREFIX}/reset", state.reset, methods=["POST"]),
        Route(f"{PREFIX}/faults", faults.faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/faults/{{fault_id}}", faults.fault, methods=["DELETE"]),
        Route(f"{PREFIX}/webhook-faults", faults.webhook_faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/webhook-faults/{{fault_id}}", faults.webhook_fault, methods=["DELETE"]),
        Route(f"{PREFIX}/requests", inspection.journal, methods=["GET"]),
        Route(f"{PREFIX}/requests/{{entry_id}}", inspection.journal_entry, methods=["GET"]),
        Route(f"{PREFIX}/deliveries", inspection.deliveries, methods=["GET"]),
        Route(f"{PREFIX}/deliveries/{{delivery_id}}", inspection.delivery, methods=["GET"]),
        Route(f"{PREFIX}/deliveries/{{delivery_id}}/redeliver", inspection.redeliver, methods=["POST"]),
        Route(f"{PREFIX}/seekpass/partners", seekpass_api.seekpass_partners, methods=["GET"]),
        Route(f"{PREFIX}/seekpass/requests", seekpass_api.seekpass_requests, methods=["GET"]),
        Route(
            f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id:path}}/complete",
            seekpass_api.seekpass_complete,
            methods=["POST"],
        ),
        Route(
            f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id:path}}/cancel",
            seekpass_api.seekpass_cancel,
            methods=["POST"],
        ),
        Route(
            f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id:path}}/expire",
            seekpass_api.seekpass_expire,
            methods=["POST"],
        ),
        # After the actions: a request id may hold "/", so this one would match their paths too.
        Route(
            f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id:path}}",
            seekpass_api.seekpass_request,
            methods=["GET"],
        ),
        Route(f"{PREFIX}/verifypass/accounts", verifypass_api.verifypass_accounts, methods=["GET"]),
        Route(
            f"{PREFIX}/verifypass/accounts/{{account_id}}/webhook",
            verifypass_api.verifypass_account_webhook,
            methods=["PUT"],
        ),
        Route(
            f"{PREFIX}/verifypass/widgets/{{widget_key}}/webhook",
            verifypass_api.verifypass_widget_webhook,
            methods=["PUT"],
        ),
        Route(f"{PREFIX}/verifypass/verifications", verifypass_api.verifypass_verification, methods=["POST"]),
        Route(f"{PREFIX}/verifypass/activity", verifypass_api.verifypass_activity, methods=["GET"]),
        Route(
            f"{PREFIX}/verifypass/activity/{{activity_id}}", verifypass_api.verifypass_activity_item, methods=["GET"]
        ),
    ]
