"""The Dockerfile and compose.yaml, tested without a container engine.

The structure of both files is checked as parsed text; the image's install steps (its COPY
lines and its ``RUN pip install``) are replayed in a clean virtualenv, and the installed
``passbox serve`` is started the way the image's CMD starts it and asked ``/health`` by the
image's own HEALTHCHECK command.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from passbox.settings import Settings
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
REPLICAS = ("passbox-a", "passbox-b")


@dataclass(frozen=True)
class Instruction:
    name: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the (joined) line


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order: comments and blank lines dropped, `\\` continuations joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            name, _, args = line.partition(" ")
            instructions.append(Instruction(name.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


def only(instructions: list[Instruction], name: str) -> list[Instruction]:
    return [instruction for instruction in instructions if instruction.name == name]


def copy_sources(instruction: Instruction) -> tuple[list[str], str]:
    """A COPY's sources and destination (flags such as --chown dropped)."""
    if instruction.args.startswith("["):
        words = json.loads(instruction.args)
    else:
        words = [word for word in shlex.split(instruction.args) if not word.startswith("--")]
    assert len(words) >= 2, f"COPY needs a source and a destination: {instruction.args}"
    return words[:-1], words[-1]


def env_values(instructions: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in only(instructions, "ENV"):
        words = shlex.split(instruction.args)
        if "=" not in words[0]:  # the old `ENV KEY value` form
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            values[key] = value
    return values


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    [healthcheck] = only(instructions, "HEALTHCHECK")
    _, separator, command = healthcheck.args.partition("CMD ")
    assert separator, "HEALTHCHECK needs a CMD"
    words = json.loads(command)  # the exec form: no shell needed in the image
    assert isinstance(words, list)
    return [str(word) for word in words]


def pip_install_step(instructions: list[Instruction]) -> list[str]:
    [step] = [i for i in only(instructions, "RUN") if i.args.startswith("pip install")]
    words = shlex.split(step.args)
    assert "&&" not in words and ";" not in step.args, "keep the install one plain command, so it can be replayed"
    return words


# -- the Dockerfile -------------------------------------------------------------------------


def test_the_base_image_is_a_slim_python() -> None:
    instructions = dockerfile()
    assert instructions[0].name == "FROM"
    [base] = only(instructions, "FROM")
    image, _, tag = base.args.partition(":")
    assert image == "python"
    assert tag.endswith("-slim")
    version = tag.removesuffix("-slim")
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert required == ">=3.11"
    assert tuple(int(part) for part in version.split(".")) >= (3, 11)


def test_it_runs_as_a_non_root_user_created_in_the_image() -> None:
    instructions = dockerfile()
    users = only(instructions, "USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}
    creating = [i for i in only(instructions, "RUN") if "useradd" in i.args]
    assert creating
    assert user in creating[0].args
    uid = shlex.split(creating[0].args)[shlex.split(creating[0].args).index("--uid") + 1]
    assert int(uid) != 0
    # Everything after the last USER runs as that user: no install step may come after it.
    after = instructions[instructions.index(users[-1]) :]
    assert not [i for i in after if i.name == "RUN"]


def test_the_default_store_lives_in_the_volume() -> None:
    instructions = dockerfile()
    assert [v.args for v in only(instructions, "VOLUME")] == ["/data"]
    assert env_values(instructions)["PASSBOX_DATA_DIR"] == "/data"
    # The directory is created and handed to the user before it becomes a volume.
    volume = next(i for i in instructions if i.name == "VOLUME")
    preparing = [i for i in instructions[: instructions.index(volume)] if i.name == "RUN" and "chown" in i.args]
    assert preparing and "/data" in preparing[0].args


def test_the_command_serves_on_the_exposed_port_and_the_healthcheck_asks_health() -> None:
    instructions = dockerfile()
    [cmd] = only(instructions, "CMD")
    assert json.loads(cmd.args) == ["passbox", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert [e.args for e in only(instructions, "EXPOSE")] == ["8000"]
    command = healthcheck_command(instructions)
    assert command[:2] == ["python", "-c"]  # no curl in the slim image
    assert "http://127.0.0.1:8000/health" in command[2]
    compile(command[2], "<healthcheck>", "exec")


def test_every_copy_source_exists_and_is_not_dockerignored() -> None:
    ignored = [
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copies = only(dockerfile(), "COPY")
    assert copies
    for instruction in copies:
        assert "--from" not in instruction.args
        sources, _ = copy_sources(instruction)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
            assert not any(fnmatch.fnmatch(source.rstrip("/"), pattern) for pattern in ignored), (
                f"COPY {source} is excluded by .dockerignore"
            )


def test_the_image_copies_everything_the_wheel_is_built_from() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", project["project"]["readme"], *wheel["packages"], *wheel["force-include"]}
    copied = {source.rstrip("/") for i in only(dockerfile(), "COPY") for source in copy_sources(i)[0]}
    # A path is copied when it, or a folder holding it (sandbox/ for sandbox/passbox), is.
    missing = {path for path in needed if not any(path == c or path.startswith(c + "/") for c in copied)}
    assert missing == set()
    if (ROOT / "LICENSE").exists():
        assert "LICENSE" in copied
    words = pip_install_step(dockerfile())
    assert words[:2] == ["pip", "install"]
    assert ".[postgres]" in words  # the image can use PostgreSQL as its store


# -- compose.yaml ---------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def default_of(value: str) -> str:
    """``${NAME:-default}`` as compose resolves it when NAME is unset."""
    if value.startswith("${") and value.endswith("}") and ":-" in value:
        return value[2:-1].split(":-", 1)[1]
    assert "$" not in value, f"unsupported interpolation: {value}"
    return value


def test_compose_has_postgres_and_two_replicas() -> None:
    services = compose()["services"]
    assert {"postgres", *REPLICAS} <= set(services)
    postgres = services["postgres"]
    assert postgres["image"].split(":")[0] == "postgres"
    assert postgres["image"].split(":")[1] == "16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose()["volumes"]  # a named volume, not a host directory


def test_both_replicas_share_the_postgres_service_and_the_secrets() -> None:
    services = compose()["services"]
    database = services["postgres"]["environment"]
    environments = [services[name]["environment"] for name in REPLICAS]
    for environment in environments:
        store = urlsplit(environment["PASSBOX_STORE"])
        assert store.scheme == "postgresql"
        assert store.hostname == "postgres"
        assert store.port == 5432
        assert store.username == database["POSTGRES_USER"]
        assert store.password == database["POSTGRES_PASSWORD"]
        assert store.path == "/" + database["POSTGRES_DB"]
    for key in ("PASSBOX_STORE", "PASSBOX_SECRET_KEY", "PASSBOX_ADMIN_TOKEN"):
        assert environments[0][key] == environments[1][key], f"the replicas must share {key}"
    # The defaults (used when the variables are unset) are values passbox accepts.
    Settings(
        secret_key=default_of(environments[0]["PASSBOX_SECRET_KEY"]),
        admin_token=default_of(environments[0]["PASSBOX_ADMIN_TOKEN"]),
    )
    for name in REPLICAS:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_replicas_are_built_from_the_dockerfile_on_distinct_ports() -> None:
    services = compose()["services"]
    host_ports = []
    for name in REPLICAS:
        build = services[name]["build"]
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context.is_dir()
        assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
        [port] = services[name]["ports"]
        host, _, container = str(port).partition(":")
        assert container == "8000"  # the Dockerfile's EXPOSE and CMD
        host_ports.append(int(host))
    assert sorted(host_ports) == [8001, 8002]


# -- the install steps, replayed ------------------------------------------------------------


def clean_environment() -> dict[str, str]:
    """This machine's environment without passbox settings, proxies or virtualenv leftovers."""
    dropped = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PASSBOX_") and key not in dropped and "proxy" not in key.lower()
    }


def replay_copies(instructions: list[Instruction], context: Path) -> None:
    """Lay the image's /src (the WORKDIR of the install) out in ``context``, as its COPY lines do."""
    install = next(i for i in instructions if i.name == "RUN" and i.args.startswith("pip install"))
    for instruction in instructions[: instructions.index(install)]:
        if instruction.name != "COPY":
            continue
        sources, destination = copy_sources(instruction)
        for source in sources:
            origin = ROOT / source
            target = context / destination
            if destination.endswith("/") or destination in {".", "./"} or len(sources) > 1:
                target = target / origin.name
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_data"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)


@pytest.mark.live
@pytest.mark.timeout(420)
def test_the_install_steps_in_a_clean_virtualenv_give_a_serving_passbox(tmp_path: Path) -> None:
    instructions = dockerfile()
    env = clean_environment()
    context = tmp_path / "src"
    replay_copies(instructions, context)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
    python = venv / "bin" / "python"
    words = pip_install_step(instructions)
    installed = subprocess.run(
        [str(python), "-m", *words],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert subprocess.run([str(python), "-c", "import psycopg"], env=env, timeout=60, check=False).returncode == 0

    # The image's CMD, on loopback and a free port, with the data directory in tmp_path.
    [cmd] = only(instructions, "CMD")
    command = json.loads(cmd.args)
    port = free_port()
    command[0] = str(venv / "bin" / command[0])
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    data = tmp_path / "data"
    command += ["--data-dir", str(data)]
    check = healthcheck_command(instructions)
    check[0] = str(python)
    assert "127.0.0.1:8000" in check[2]
    check[2] = check[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    workdir = tmp_path / "cwd"  # nothing may land in the repository
    workdir.mkdir()
    stderr = (tmp_path / "stderr.log").open("w")
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    guard = threading.Timer(60, process.kill)  # whatever happens below, it cannot hang
    guard.start()
    drain = threading.Thread(target=lambda: process.stdout and process.stdout.read(), daemon=True)
    try:
        assert process.stdout is not None
        banner: list[str] = []
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("  fixtures:"):
                break
        text = "\n".join(banner)
        assert banner and banner[0].startswith(f"passbox is running at http://127.0.0.1:{port}"), (
            text + (tmp_path / "stderr.log").read_text()
        )
        drain.start()  # keep the pipe drained
        database = (data / "passbox.db").resolve()
        assert f"state:      {database} (SQLite" in text
        assert database.is_file()
        # The fixtures (and specs) come from the installed wheel, not from a source tree.
        fixtures = Path(banner[-1].split("fixtures:", 1)[1].strip()).resolve()
        assert fixtures.is_relative_to(venv.resolve())

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client:
            assert client.get("/health").json() == {"status": "ok"}
            assert client.get("/specs/seekpass.openapi.yaml").status_code == 200

        # A partner project with its own `clients` and `sandbox` packages: the installed names
        # cannot collide with them (issue 14.1). The README's client example and the plugin run.
        partner_project(tmp_path / "partner", python, port, env)

        # The image's HEALTHCHECK, run with the virtualenv's python (as the image's own).
        healthy = subprocess.run(check, env=env, capture_output=True, text=True, timeout=30, check=False)
        assert healthy.returncode == 0, healthy.stderr
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        guard.cancel()
        if drain.is_alive():
            drain.join(timeout=15)
        if process.stdout is not None:
            process.stdout.close()
        stderr.close()
    # And it fails once nothing answers, so exit code 0 above meant something.
    assert subprocess.run(check, env=env, capture_output=True, timeout=30, check=False).returncode != 0


CLIENT_README = ROOT / "clients" / "README.md"
PLUGIN_TEST = """
def test_the_plugin_runs_next_to_a_local_sandbox_package(passbox_client):
    import clients, sandbox  # the partner's own packages, untouched by passbox
    assert clients.MINE and sandbox.MINE
    token = passbox_client.post("/api/v2/token", headers={"key": "passbox-demo-key"}, json={})
    assert token.status_code == 200
"""


def partner_project(root: Path, python: Path, port: int, env: dict[str, str]) -> None:
    for package in ("clients", "sandbox"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("MINE = True\n")
    (root / "clients" / "seekpass.py").write_text("raise ImportError('the partner module, not passbox')\n")
    example = re.findall(r"```python\n(.*?)```", CLIENT_README.read_text(), flags=re.DOTALL)[0]
    (root / "example.py").write_text(example)
    ran = subprocess.run(
        [str(python), "example.py"],
        cwd=root,
        env={**env, "PASSBOX_URL": f"http://127.0.0.1:{port}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert "send the user to:" in ran.stdout
    pip = [str(python), "-m", "pip", "install", "--quiet", "pytest>=8", "pytest-asyncio>=0.24"]
    assert subprocess.run(pip, env=env, capture_output=True, timeout=180, check=False).returncode == 0
    (root / "test_partner.py").write_text(PLUGIN_TEST)
    tested = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_partner.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "1 passed" in tested.stdout
