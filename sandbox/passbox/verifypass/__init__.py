"""VerifyPass: applicant tokens, the hosted verification widget, webhooks and reporting."""

from __future__ import annotations

from pathlib import Path

from passbox.core.runtime import Core
from passbox.core.specs import Spec
from passbox.core.vendor import Vendor
from passbox.settings import Settings
from passbox.verifypass import errors, pages, routes
from passbox.verifypass.backend import VerifyPassBackend
from passbox.verifypass.fixtures import load_directory
from passbox.verifypass.models import VENDOR

TEMPLATES = Path(__file__).resolve().parent / "templates"


def build(core: Core, settings: Settings, spec: Spec) -> Vendor:
    backend = VerifyPassBackend(core, settings, load_directory(settings.fixtures_dir), spec.validators)
    return Vendor(
        name=VENDOR,
        routes=[*routes.routes(), *pages.routes()],
        prefixes=(routes.PREFIX + "/",),
        render_error=errors.render,
        render_status=errors.render_status,
        backend=backend,
        pages=(
            ("GET", pages.PATH, "openWidget"),
            ("POST", pages.PATH, "submitWidget"),
            ("GET", pages.LEGACY_PATH, "openWidget"),
            ("POST", pages.LEGACY_PATH, "submitWidget"),
        ),
    )
