"""The person behind a verified SEEK Pass credential: seeded en_AU Faker plus the app clock.

The same seed, partner and request id always give the same person, whatever order requests
complete in. Dates come from the app clock (Faker's own date helpers read the system date).
"""

from __future__ import annotations

from datetime import date, timedelta

from passbox.core.fakedata import FakeData
from passbox.core.personas import Persona
from passbox.core.rand import Rand
from passbox.seekpass.models import Credential, DocumentType

STATES = ("NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT")
# Australian passports: one or two letters then seven digits.
PASSPORT_PREFIXES = ("PA", "PB", "PC", "PD", "PE", "RA", "N", "M")
# Licence number lengths by state (approximate, for realistic-looking numbers).
LICENCE_DIGITS = {"NSW": 8, "VIC": 9, "QLD": 9, "WA": 7, "SA": 6, "TAS": 6, "ACT": 7, "NT": 7}


def make_credential(
    fake: FakeData, rand: Rand, today: date, client_id: str, request_id: str, document_type: DocumentType
) -> Credential:
    name = fake.name("en_AU", "seekpass", client_id, request_id)
    stream = rand.keyed("seekpass-person", client_id, request_id)
    age_days = stream.randint(18 * 365 + 5, 75 * 365)
    born = today - timedelta(days=age_days)
    if document_type == "passport":
        number = stream.choice(PASSPORT_PREFIXES) + stream.digits(7)
        state = None
        expiry = today + timedelta(days=stream.randint(30, 10 * 365))
    else:
        state = stream.choice(STATES)
        number = stream.digits(LICENCE_DIGITS[state])
        expiry = today + timedelta(days=stream.randint(30, 5 * 365))
    return Credential(
        document_type=document_type,
        full_name=name.full_name,
        given_name=name.first_name,
        family_name=name.last_name,
        date_of_birth=born,
        document_number=number,
        issuing_state=state,
        expiry_date=expiry,
    )


def credential_of(persona: Persona, document_type: DocumentType) -> Credential:
    """A persona's credential: the same person and document every time."""
    document = persona.passport if document_type == "passport" else persona.drivers_licence
    return Credential(
        document_type=document_type,
        full_name=persona.full_name,
        given_name=persona.first_name,
        family_name=persona.last_name,
        date_of_birth=persona.date_of_birth,
        document_number=document.number,
        issuing_state=document.state if document_type == "drivers_licence" else None,
        expiry_date=document.expiry_date,
    )
