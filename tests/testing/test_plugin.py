"""The pytest plugin, tested the way a partner uses it: a sample suite run by pytester."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

SAMPLE = """
import httpx
import re
from pathlib import Path

import pytest

from passbox_clients.seekpass import SeekPassClient
from passbox_clients.seekpass.webhooks import verify
from passbox_clients.verifypass import VerifyPassClient

CLIENT = ("passbox-demo-client", "passbox-demo-secret")


def test_a_verified_request_sends_a_signed_webhook(passbox_client, passbox_webhooks):
    seekpass = SeekPassClient("http://passbox.test", *CLIENT, http_client=passbox_client)
    hook = seekpass.create_webhook("https://partner.example/hooks")
    created = seekpass.create_verification_request("Acme", request_id="sandbox:verified:jane-citizen:t1")
    [delivery] = passbox_webhooks.wait_for(event="vwsp_request.verified")
    event = verify(delivery.body, delivery.headers, hook.secret)
    assert event.request_id == created.request_id
    assert seekpass.get_verification_request(created.request_id).credential.full_name == "Jane Citizen"


def test_time_travel_expires_a_request(passbox_client, passbox_clock, passbox_webhooks):
    seekpass = SeekPassClient("http://passbox.test", *CLIENT, http_client=passbox_client)
    seekpass.create_webhook("https://partner.example/hooks")
    created = seekpass.create_verification_request("Acme")
    passbox_clock.freeze()
    passbox_clock.advance("48h")
    [delivery] = passbox_webhooks.wait_for(event="vwsp_request.canceled")
    assert delivery.json()["request_id"] == created.request_id


def test_verifypass_on_a_real_server(passbox_server, passbox_webhooks):
    verifypass = VerifyPassClient("passbox-demo-key", base_url=passbox_server.url)
    token = verifypass.create_token(email="ana@example.com", lock_email=True)
    assert verifypass.widget_url("demo-widget", token=token).startswith(passbox_server.url)
    passbox_server.client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook",
                              json={"url": "https://shop.example/vp"})
    passbox_server.client.post("/_sandbox/verifypass/verifications",
                               json={"widget_key": "demo-widget", "token": token})
    [delivery] = passbox_webhooks.wait_for(url="https://shop.example/vp")
    assert delivery.headers["x-vfyps-key"] == "passbox-demo-key"
    assert [r.email for r in verifypass.iter_activity()] == ["ana@example.com"]


def test_the_server_is_reset_between_tests_1(passbox_server):
    seekpass = SeekPassClient(passbox_server.url, *CLIENT)
    seekpass.create_webhook("https://partner.example/one")
    assert len(seekpass.list_webhooks()) == 1


def test_the_server_is_reset_between_tests_2(passbox_server):
    assert SeekPassClient(passbox_server.url, *CLIENT).list_webhooks() == []


@pytest.mark.passbox(seed=7)
def test_the_marker_sets_the_seed(passbox_client):
    assert passbox_client.get("/").json()["seed"] == 7


@pytest.mark.passbox(seed=8)
def test_the_marker_gives_a_server_its_own_seed(passbox_server):
    assert passbox_server.client.get("/").json()["seed"] == 8


def test_the_default_seed(passbox_server, passbox_client):
    assert passbox_server.client.get("/").json()["seed"] == passbox_client.get("/").json()["seed"] == 1234
"""

FIXTURES_SAMPLE = """
import shutil
from pathlib import Path

import re
from pathlib import Path

import pytest

from passbox.core.resources import default_fixtures_dir

FIXTURES = Path(__file__).parent / "my-fixtures"
shutil.copytree(default_fixtures_dir(), FIXTURES, dirs_exist_ok=True)
(FIXTURES / "seekpass.yaml").write_text(
    "partners:\\n  - {client_id: ci-partner, client_secret: ci-secret-1, scopes: [read.digital_identity]}\\n"
)


@pytest.mark.passbox(fixtures=str(FIXTURES))
def test_the_marker_sets_the_fixtures(passbox_client):
    token = passbox_client.post("/api/partner/v1/oauth/token.json", data={
        "grant_type": "client_credentials", "client_id": "ci-partner", "client_secret": "ci-secret-1"})
    assert token.json()["scope"] == "read.digital_identity"
"""

FAILING_SAMPLE = """
def test_a_sandbox_bug_fails_this_test(passbox_app, passbox_client):
    backend = passbox_app.state.sandbox.vendors["seekpass"].backend

    def broken(*args, **kwargs):
        raise RuntimeError("the sandbox broke here")

    backend.list_webhooks = broken  # stands in for a bug in the sandbox
    token = passbox_client.post("/api/partner/v1/oauth/token.json", data={
        "grant_type": "client_credentials", "client_id": "passbox-demo-client",
        "client_secret": "passbox-demo-secret"}).json()["access_token"]
    response = passbox_client.get("/api/partner/v2/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500


def test_the_next_test_is_not_blamed(passbox_client):
    assert passbox_client.get("/health").json() == {"status": "ok"}


def test_a_server_bug_fails_this_test(passbox_server):
    passbox_server.app.state.sandbox.vendors["verifypass"].backend.report = None  # "calls" a None
    assert passbox_server.client.get("/api/v2/reporting", headers={"key": "passbox-demo-key"}).status_code == 500


def test_and_the_server_goes_on(passbox_server):
    assert passbox_server.client.get("/health").status_code == 200
"""


def test_a_partner_suite_using_the_fixtures_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_partner=SAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=8)


def test_the_fixtures_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures=FIXTURES_SAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


def test_a_server_side_error_surfaces_in_the_test_that_caused_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING_SAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rE")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_sandbox_bug_fails_this_test*",
            "*the passbox sandbox hit an unexpected error during this test*",
            "*RuntimeError: the sandbox broke here*",
        ]
    )
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_a_server_bug_fails_this_test*", "*TypeError*"])


def test_an_unknown_marker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import re
from pathlib import Path

import pytest

@pytest.mark.passbox(colour="blue")
def test_it(passbox_app):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown options*colour*"])


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Testing your integration", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(example) == 1
    pytester.makepyfile(test_readme=example[0])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)
