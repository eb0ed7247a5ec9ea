"""SEEK Pass magic values: a ``request_id`` that decides the outcome of its own request.

The table below is what the code parses and what ``GET /_sandbox/scenarios`` lists, so the
two cannot drift. A magic request id reads::

    sandbox:<outcome>[:<document type>][:<persona>][:<anything you like>]

for example ``sandbox:verified:drivers_licence:jane-citizen:order-42``. The request id is a
field every partner sets, and stays unique when you add your own suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from passbox.core.personas import Persona
from passbox.seekpass.models import DOCUMENT_TYPES, DocumentType

PREFIX = "sandbox"
FIELD = "request_id"

Outcome = Literal["verified", "canceled", "incomplete"]

# outcome -> what happens, said once for the code and the catalogue.
OUTCOMES: dict[Outcome, str] = {
    "verified": "The request is verified as soon as it is created, as if the user had chosen the "
    "credential and consented: status verified, vwsp_request.verified sent, and a user opening "
    "the link is sent straight to the callback URL.",
    "canceled": "The request is canceled as soon as it is created, as if the user had pressed "
    "Cancel: status canceled, vwsp_request.canceled sent, and a user opening the link is sent to "
    "the callback URL.",
    "incomplete": "The user never finishes: the request stays incomplete (the hosted page will not "
    "complete it) until it expires after 48 hours and becomes canceled, with vwsp_request.canceled.",
}


class Magic(msgspec.Struct, frozen=True):
    outcome: Outcome
    document_type: DocumentType = "passport"
    persona: str | None = None


def parse(request_id: str, personas: Mapping[str, Persona]) -> Magic | None:
    """The magic a request id carries, or None for an ordinary id."""
    parts = request_id.split(":")
    if len(parts) < 2 or parts[0] != PREFIX or parts[1] not in OUTCOMES:
        return None
    outcome: Outcome = parts[1]
    document: DocumentType | None = None
    persona: str | None = None
    for part in parts[2:]:
        if document is None and part in DOCUMENT_TYPES:
            document = part
        elif persona is None and part in personas:
            persona = part
        else:
            break  # the rest is the partner's own suffix
    return Magic(outcome, document or "passport", persona)


def catalogue(personas: Mapping[str, Persona]) -> dict[str, Any]:
    return {
        "field": FIELD,
        "grammar": f"{PREFIX}:<outcome>[:<document type>][:<persona>][:<anything>]",
        "values": [
            {"value": f"{PREFIX}:{outcome}", "outcome": outcome, "description": description}
            for outcome, description in OUTCOMES.items()
        ],
        "options": [
            {"segment": document, "description": f"the credential the user chose (default {DOCUMENT_TYPES[0]})"}
            for document in DOCUMENT_TYPES
        ]
        + [
            {"segment": key, "description": f"verify as the persona {person.full_name}"}
            for key, person in personas.items()
        ],
        "examples": [
            f"{PREFIX}:verified",
            f"{PREFIX}:verified:drivers_licence:{next(iter(personas), 'persona')}:order-42",
            f"{PREFIX}:canceled:8f14e45f",
            f"{PREFIX}:incomplete",
        ],
    }
