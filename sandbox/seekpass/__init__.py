"""Verify with SEEK Pass: OAuth2 client credentials, verification requests, hosted app, webhooks."""

from __future__ import annotations

from pathlib import Path

from sandbox.core.runtime import Core
from sandbox.core.specs import Spec
from sandbox.core.vendor import Vendor
from sandbox.seekpass import errors, pages, routes
from sandbox.seekpass.backend import APP_PATH, SeekPassBackend
from sandbox.seekpass.fixtures import load_partners
from sandbox.seekpass.models import VENDOR
from sandbox.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def build(core: Core, settings: Settings, spec: Spec) -> Vendor:
    backend = SeekPassBackend(core, settings, load_partners(settings.fixtures_dir), spec.validators)
    return Vendor(
        name=VENDOR,
        routes=[*routes.routes(), *pages.routes()],
        prefixes=(routes.PREFIX + "/",),
        render_error=errors.render,
        render_status=errors.render_status,
        backend=backend,
        pages=(("GET", APP_PATH, "openSeekPassApp"), ("POST", APP_PATH, "submitSeekPassApp")),
    )
