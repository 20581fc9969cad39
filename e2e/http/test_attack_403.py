"""A 403 stays a 403, and only a request for which a kept submission waits is ever replayed.

Today nginx sends every 403 inside a protected location to @sso_replay, and AppAuthFCGI then sends the request to the
app itself. So a signed-in user walks through `deny all`, `limit_except GET`, and with `proxy_intercept_errors on` an
app's own 403 makes a POST arrive twice. Each location below is protected by the shipped snippets and adds its own rule,
through nginx and Apache."""
import uuid

import pytest
import requests

from helpers import SERVERS, Browser, make_stack

NGINX_LOCATIONS = """
    location /denied/ {
        include sso/sso-protect.conf;
        set $sso_backend http://127.0.0.1:%(app)d;
        deny all;
        proxy_pass http://infusion_app;
    }
    location /readonly/ {
        include sso/sso-protect.conf;
        set $sso_backend http://127.0.0.1:%(app)d;
        limit_except GET { deny all; }
        proxy_pass http://infusion_app;
    }
    location /intercepted/ {
        include sso/sso-protect.conf;
        set $sso_backend http://127.0.0.1:%(app)d;
        proxy_intercept_errors on;
        proxy_pass http://infusion_app;
    }
"""

APACHE_LOCATIONS = """
    <Location "/denied/">
        Require all denied
    </Location>
    <Location "/readonly/">
        <LimitExcept GET>
            Require all denied
        </LimitExcept>
    </Location>
    <Location "/intercepted/">
        ProxyErrorOverride On
    </Location>
"""


@pytest.fixture(scope="module", params=SERVERS)
def rstack(request, tmp_root):
    s = make_stack(tmp_root, request.param)
    app = s.app_ports["infusion"]
    s.overrides["site"] = {"nginx": {"infusion.iqueue.test": NGINX_LOCATIONS % {"app": app}},
                           "apache": {"infusion.iqueue.test": APACHE_LOCATIONS}}
    s.start()
    yield s
    s.stop()


@pytest.fixture
def alice(rstack):
    b = Browser(rstack)
    assert b.sign_in(rstack.infusion + "/").status_code == 200
    return b


def app_saw(browser, stack, method, uri):
    """How many `method uri` requests the app has received (the echo app counts them)."""
    from urllib.parse import quote
    r = browser.get(stack.infusion + f"/_echo/seen?method={method}&uri={quote(uri, safe='')}")
    assert r.status_code == 200
    return r.json()["seen"]


def test_deny_all_stays_403_for_a_signed_in_user(rstack, alice):
    r = alice.get(rstack.infusion + "/denied/secret")
    assert r.status_code == 403, (r.status_code, r.text[:200])
    assert "application/json" not in r.headers.get("Content-Type", "")


def test_limit_except_stays_403(rstack, alice):
    assert alice.get(rstack.infusion + "/readonly/page").status_code == 200
    r = alice.post(rstack.infusion + "/readonly/page", data=b"x=1",
                   headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": rstack.infusion})
    assert r.status_code == 403, (r.status_code, r.text[:200])


def test_an_apps_own_403_is_not_replayed_and_a_post_arrives_once(rstack, alice):
    uri = f"/intercepted/status/403?n={uuid.uuid4().hex}"
    r = alice.post(rstack.infusion + uri, data=b"pay=1",
                   headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": rstack.infusion})
    assert r.status_code == 403, (r.status_code, r.text[:200])
    assert app_saw(alice, rstack, "POST", uri) == 1


def test_ordinary_requests_reach_the_app_through_the_web_server_while_a_submission_waits(rstack):
    """A kept submission for one page must not route the user's other requests through AppAuthFCGI."""
    b = Browser(rstack)
    assert b.sign_in(rstack.infusion + "/forms/new").status_code == 200
    plain = b.get(rstack.infusion + "/elsewhere").json()["headers"]
    assert b.sign_out().status_code == 200
    form, _ = b.navigate("POST", rstack.infusion + "/forms/submit", b"a=1",
                         {"Content-Type": "application/x-www-form-urlencoded", "Origin": rstack.infusion,
                          "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"})
    assert b.submit_login(form, "alice", "wonderland").status_code == 302
    # Signed in again at accounts; a kept submission waits for /forms/submit, and the user opens another page first.
    first, _ = b.follow(rstack.infusion + "/elsewhere")
    assert first.status_code == 200 and first.json()["method"] == "GET"
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is not None
    other = b.get(rstack.infusion + "/elsewhere").json()["headers"]
    for name in ("connection", "content-length", "x-forwarded-server", "x-forwarded-host", "x-forwarded-for"):
        assert other.get(name) == plain.get(name), (name, other.get(name), plain.get(name))
    # And the kept submission is still delivered on its own page.
    final = b.get(rstack.infusion + "/forms/submit").json()
    assert final["method"] == "POST" and final["body"] == "a=1"
