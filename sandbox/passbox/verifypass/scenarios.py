"""VerifyPass magic values: an e-mail address that decides the verification's outcome.

The e-mail is set by the business in an applicant token, or typed by the applicant in the
widget, so it works in both. A ``+sandbox-<tag>`` sub-address picks the outcome, and the
e-mail of a persona verifies as that persona. The table below is what the code parses and
what ``GET /_sandbox/scenarios`` lists, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from passbox.core.personas import Persona

FIELD = "email"
TAG = "+sandbox-"

Outcome = Literal["positive", "negative"]

# tag -> (outcome, what happens)
TAGS: dict[str, tuple[Outcome, str]] = {
    "positive": ("positive", "The verification is positive (the default), with the community chosen on the form."),
    "negative": ("negative", "The verification is negative: no code, no activity in reporting, no webhook."),
}
COMMUNITY_TAG = (
    "A community's short code (e.g. +sandbox-fir): positive as that community, or negative when the "
    "widget does not accept it."
)
PERSONA_EMAIL = "A persona's e-mail: positive as the persona (its names, date of birth and community)."


class Magic(msgspec.Struct, frozen=True):
    outcome: Outcome
    community: str | None = None
    persona: str | None = None


def parse(email: str | None, communities: Iterable[str], personas: Mapping[str, Persona]) -> Magic | None:
    if not email:
        return None
    lowered = email.strip().lower()
    for key, person in personas.items():
        if person.email.lower() == lowered:
            return Magic("positive", person.community, key)
    local = lowered.partition("@")[0]
    if TAG not in local:
        return None
    tag = local.split(TAG, 1)[1].split("+", 1)[0]
    if tag in TAGS:
        return Magic(TAGS[tag][0])
    if tag in set(communities):
        return Magic("positive", community=tag)
    return None


def catalogue(communities: Iterable[str], personas: Mapping[str, Persona]) -> dict[str, Any]:
    return {
        "field": FIELD,
        "where": "the e-mail of an applicant token, or the one typed in the widget form",
        "grammar": f"<name>{TAG}<tag>@<domain>",
        "values": [
            {"value": f"jane{TAG}{tag}@example.com", "outcome": outcome, "description": description}
            for tag, (outcome, description) in TAGS.items()
        ]
        + [
            {
                "value": f"jane{TAG}{key}@example.com",
                "outcome": "positive",
                "community": key,
                "description": COMMUNITY_TAG,
            }
            for key in communities
        ]
        + [
            {"value": person.email, "outcome": "positive", "persona": key, "description": PERSONA_EMAIL}
            for key, person in personas.items()
        ],
    }
