"""Where the bundled specs and default fixtures live.

In a checkout they are the top-level ``specs/`` and ``fixtures/`` folders (the package lives in
``sandbox/passbox/``); an installed wheel carries copies under ``passbox/_data/`` (see
pyproject.toml). Resolved when an app is built, never at import time.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    bundled = PACKAGE_DIR / "_data" / name
    if bundled.is_dir():
        return bundled
    return PACKAGE_DIR.parent.parent / name


def specs_dir() -> Path:
    return data_dir("specs")


def default_fixtures_dir() -> Path:
    return data_dir("fixtures")


def load_yaml(data: bytes | str) -> object:
    """Parse YAML safely, with libyaml's C loader when PyYAML has it (about 10x faster)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(data, Loader=loader)  # noqa: S506 - a safe loader either way
