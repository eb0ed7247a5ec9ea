"""VerifyPass: applicant tokens, the hosted verification widget, webhooks and reporting."""

from __future__ import annotations

from pathlib import Path

from sandbox.core.runtime import Core
from sandbox.core.specs import Spec
from sandbox.core.vendor import Vendor
from sandbox.settings import Settings
from sandbox.verifypass import errors, pages, routes
from sandbox.verifypass.backend import VerifyPassBackend
from sandbox.verifypass.fixtures import load_directory
from sandbox.verifypass.models import VENDOR

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
