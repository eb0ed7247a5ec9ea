"""Verify with SEEK Pass: OAuth2 client credentials, verification requests, hosted app, webhooks."""

from __future__ import annotations

from pathlib import Path

from passbox.core.runtime import Core
from passbox.core.specs import Spec
from passbox.core.vendor import Vendor
from passbox.seekpass import errors, pages, routes
from passbox.seekpass.backend import APP_PATH, SeekPassBackend
from passbox.seekpass.fixtures import load_partners
from passbox.seekpass.models import VENDOR
from passbox.settings import Settings

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
