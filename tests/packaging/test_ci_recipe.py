"""docs/ci/github-actions.yml, the CI recipe for partners: its structure, and its example test runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs" / "ci" / "github-actions.yml"
HEREDOC = re.compile(r"cat > (?P<path>\S+) <<'EOF'\n(?P<body>.*?)\nEOF\n", re.DOTALL)


def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def jobs() -> tuple[dict[str, Any], dict[str, Any]]:
    """The service-container job and the in-process job."""
    found = workflow()["jobs"]
    with_services = [job for job in found.values() if job.get("services")]
    without = [job for job in found.values() if not job.get("services")]
    assert len(with_services) == 1 and len(without) == 1, sorted(found)
    return with_services[0], without[0]


def example_step(job: dict[str, Any]) -> dict[str, Any]:
    [step] = [step for step in job["steps"] if HEREDOC.search(step.get("run", ""))]
    return step


def test_the_workflow_runs_on_push_and_pull_requests() -> None:
    loaded = workflow()
    triggers = loaded.get("on", loaded.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    for job in loaded["jobs"].values():
        assert job["runs-on"].startswith("ubuntu-")
        assert job["steps"][0]["uses"].startswith("actions/checkout@")


def test_the_container_job_serves_passbox_and_waits_for_health_before_testing() -> None:
    container, _ = jobs()
    [service] = container["services"].values()
    assert service["image"].endswith("/passbox:latest")  # a placeholder the partner replaces
    assert "8000:8000" in service["ports"]
    assert service["env"]["PASSBOX_STORE"] == "memory://"
    admin_token = service["env"]["PASSBOX_ADMIN_TOKEN"]
    assert len(admin_token) >= 8  # what passbox accepts

    steps = container["steps"]
    runs = [step.get("run", "") for step in steps]
    [wait] = [index for index, run in enumerate(runs) if "http://localhost:8000/health" in run]
    assert "curl" in runs[wait] and "exit 1" in runs[wait]  # it gives up instead of hanging
    [tests] = [index for index, step in enumerate(steps) if "PASSBOX_URL" in step.get("env", {})]
    assert wait < tests
    assert steps[tests]["env"]["PASSBOX_URL"] == "http://localhost:8000"
    assert steps[tests]["env"]["PASSBOX_ADMIN_TOKEN"] == admin_token
    assert "pytest" in runs[tests]


def test_the_in_process_job_installs_passbox_and_runs_the_example() -> None:
    _, in_process = jobs()
    runs = [step.get("run", "") for step in in_process["steps"]]
    assert any(re.search(r"pip install .*passbox", run) for run in runs)
    step = example_step(in_process)
    match = HEREDOC.search(step["run"])
    assert match is not None
    assert f"pytest -q {match['path']}" in step["run"]  # the file it wrote is the one it runs


@pytest.mark.live
def test_the_example_test_passes_with_the_installed_plugin(pytester: pytest.Pytester) -> None:
    _, in_process = jobs()
    match = HEREDOC.search(example_step(in_process)["run"])
    assert match is not None
    body = match["body"]
    assert "passbox_client" in body and "passbox_webhooks" in body and "passbox_clock" in body
    pytester.makepyfile(**{Path(match["path"]).stem: body})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=body.count("\ndef test_"))


def test_the_readme_points_at_the_recipe_and_the_container_files() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Demo environments and CI", 1)[1].split("\n## ", 1)[0]
    for name in ("docs/ci/github-actions.yml", "Dockerfile", "compose.yaml", "tests/packaging/"):
        assert name in section
    assert readme.index("## Demo environments and CI") < readme.index("## Reference clients")
