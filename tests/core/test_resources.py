"""The parsed-YAML cache behind start-up: a hit skips the parser, anything odd parses as before."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from passbox.core.fixtures import FixtureError, read_yaml_file
from passbox.core.resources import load_yaml, load_yaml_cached

DOCUMENT = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\nlist: [1, 2.5, true, null, é]\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("PASSBOX_CACHE_DIR", str(directory))
    return directory


def entry(cache: Path, text: str) -> Path:
    return cache / f"yaml-{hashlib.sha256(text.encode()).hexdigest()}.json"


def test_a_parsed_document_is_cached_and_read_back_without_parsing(cache: Path) -> None:
    parsed = load_yaml_cached(DOCUMENT)
    assert parsed == load_yaml(DOCUMENT)
    assert json.loads(entry(cache, DOCUMENT).read_bytes()) == parsed
    # What comes back now is the entry, not a parse: change the entry and see it.
    entry(cache, DOCUMENT).write_text('{"openapi": "from the cache"}')
    assert load_yaml_cached(DOCUMENT) == {"openapi": "from the cache"}
    assert load_yaml_cached(DOCUMENT.encode()) == {"openapi": "from the cache"}  # bytes: the same entry


def test_an_edited_file_is_a_new_entry(cache: Path) -> None:
    load_yaml_cached(DOCUMENT)
    edited = DOCUMENT.replace("title: t", "title: edited")
    assert load_yaml_cached(edited)["info"]["title"] == "edited"  # type: ignore[index]
    assert len(list(cache.glob("yaml-*.json"))) == 2


@pytest.mark.parametrize("corrupt", [b"", b'{"openapi": "cut o', b"\xff\xfe", b"42", b"[1,"])
def test_a_corrupt_entry_is_parsed_again_and_replaced(cache: Path, corrupt: bytes) -> None:
    load_yaml_cached(DOCUMENT)
    entry(cache, DOCUMENT).write_bytes(corrupt)
    assert load_yaml_cached(DOCUMENT) == load_yaml(DOCUMENT)
    assert json.loads(entry(cache, DOCUMENT).read_bytes()) == load_yaml(DOCUMENT)


def test_an_unwritable_cache_still_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv("PASSBOX_CACHE_DIR", str(blocker / "cache"))
    assert load_yaml_cached(DOCUMENT) == load_yaml(DOCUMENT)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["not-a-directory"]  # no temporary file left


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("born: 1990-01-02\n", lambda parsed: parsed == {"born": datetime.date(1990, 1, 2)}),
        ("responses: {200: ok}\n", lambda parsed: parsed == {"responses": {200: "ok"}}),
        ("value: .nan\n", lambda parsed: math.isnan(parsed["value"])),
        ("loop: &a [*a]\n", lambda parsed: parsed["loop"][0] is parsed["loop"]),  # an alias of itself
    ],
    ids=["date", "integer-key", "nan", "recursive-alias"],
)
def test_a_document_json_cannot_hold_exactly_is_not_cached(cache: Path, text: str, check: Any) -> None:
    for _ in range(2):  # parsed each time, the same
        assert check(load_yaml_cached(text))
        assert not entry(cache, text).exists()
        assert not list(cache.glob(".yaml-*"))  # no temporary file left either


def test_fixture_files_still_fail_with_one_clear_line(cache: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("partners: [\n")
    with pytest.raises(FixtureError, match=r"^fixture file .*broken.yaml cannot be read: while parsing") as raised:
        read_yaml_file(broken)
    assert "\n" not in str(raised.value)
    not_utf8 = tmp_path / "latin1.yaml"
    not_utf8.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(FixtureError, match="cannot be read: 'utf-8' codec"):
        read_yaml_file(not_utf8)
    with pytest.raises(FixtureError, match="is missing"):
        read_yaml_file(tmp_path / "absent.yaml")
    deep = tmp_path / "deep.yaml"
    deep.write_text("partners: " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(FixtureError, match=r"cannot be read: .*nesting depth") as raised:
        read_yaml_file(deep)
    assert "\n" not in str(raised.value)
    assert not list(cache.glob("yaml-*.json"))  # nothing cached for a file that did not parse


def test_a_start_with_a_warm_cache_does_not_import_the_yaml_parser(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from passbox.app import create_app\n"
        "from passbox.settings import Settings\n"
        "create_app(Settings(store_url='memory://', seed=1))\n"
        "print('yaml' in sys.modules)\n"
    )
    env = {**os.environ, "PASSBOX_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True)
        for _ in range(2)
    ]
    assert [run.stdout.strip() for run in runs] == ["True", "False"]  # parsed once, then read from the cache
    assert len(list((tmp_path / "cache").glob("yaml-*.json"))) == 6  # three specs and three fixture files
