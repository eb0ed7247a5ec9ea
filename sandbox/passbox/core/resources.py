"""Where the bundled specs and default fixtures live.

In a checkout they are the top-level ``specs/`` and ``fixtures/`` folders (the package lives in
``sandbox/passbox/``); an installed wheel carries copies under ``passbox/_data/`` (see
pyproject.toml). Resolved when an app is built, never at import time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
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


def cache_dir() -> Path:
    """Where parsed files are cached: PASSBOX_CACHE_DIR, else the user's cache directory."""
    configured = os.environ.get("PASSBOX_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "passbox"


def load_yaml_cached(data: bytes | str) -> object:
    """``load_yaml(data)``, from a cache of parsed documents when it holds this content.

    Parsing the bundled specs was a fifth of an app's start-up (PyYAML builds every node in
    Python); reading them back as JSON takes under a millisecond. Entries are named by the
    SHA-256 of the content, so an edited file is simply a new entry. A document JSON cannot
    hold exactly (a YAML date, an integer key), a missing, corrupt or unwritable cache: the
    YAML is parsed, as before.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    entry = cache_dir() / f"yaml-{hashlib.sha256(raw).hexdigest()}.json"
    try:
        cached = json.loads(entry.read_bytes())
    except (OSError, ValueError):  # missing, unreadable or not JSON (a cut-off write)
        pass
    else:
        if isinstance(cached, dict | list):
            return cached
    document = load_yaml(data)
    try:
        encoded = json.dumps(document, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):  # a date, bytes, NaN: not cached
        return document
    if json.loads(encoded) != document:  # integer keys would come back as strings
        return document
    temporary = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".yaml-")
        with os.fdopen(descriptor, "wb") as file:
            file.write(encoded)
        os.replace(temporary, entry)  # whole or not at all, whoever else writes it
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return document
