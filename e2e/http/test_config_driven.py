"""The web-server files follow the config: with other cookie names (and the FastCGI addresses the config names), the
snippets as shipped plus `ssoctl generate` still give sign-in, SSO into the second domain, logout and request caching,
through nginx and Apache. Nothing in nginx/ or apache/ spells a cookie name, port or socket of its own."""
import re

import pytest
import requests

from helpers import ROOT, SERVERS, Browser, make_stack

NAMES = {"cookie.name": "__Host-acme", "cookie.csrf_name": "__Host-acme_form", "request_cache.cookie_name": "__Host-acme_keep"}


@pytest.fixture(scope="module", params=SERVERS)
def named_stack(request, tmp_root):
    s = make_stack(tmp_root, request.param, config=NAMES)
    s.start()
    yield s
    s.stop()


def cookie_names(browser):
    return {c.name for c in browser.session.cookies}


def test_other_cookie_names_work_end_to_end(named_stack):
    s = named_stack
    b = Browser(s)
    assert b.sign_in(s.infusion + "/").json()["headers"]["x-remote-user"] == "alice"
    final, _ = b.follow(s.dextor + "/dash")
    assert final.status_code == 200 and final.json()["headers"]["x-remote-user"] == "alice"
    assert b.cookie("infusion.iqueue.test", "__Host-acme") and b.cookie("dextor.leantaas.test", "__Host-acme")
    assert not {"__Host-sso", "__Host-sso_csrf", "__Host-sso_replay"} & cookie_names(b)

    # Request caching keys on the replay cookie's name in both servers' routing: sign out, post, sign in, delivered.
    assert b.sign_out().status_code == 200
    body = b"note=kept+across+sign-in"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": s.infusion, "Sec-Fetch-Site": "same-origin",
               "Sec-Fetch-Mode": "navigate"}
    form, _ = b.navigate("POST", s.infusion + "/forms/submit", body, headers)
    assert 'name="password"' in form.text
    assert b.cookie("infusion.iqueue.test", "__Host-acme_keep") is not None
    r = b.submit_login(form, "alice", "wonderland")
    final, _ = b.navigate("GET", requests.compat.urljoin(s.accounts, r.headers["Location"]))
    echo = final.json()
    assert echo["method"] == "POST" and echo["body"] == body.decode() and echo["headers"]["x-remote-user"] == "alice"
    assert b.cookie("infusion.iqueue.test", "__Host-acme_keep") is None


def test_shipped_snippets_spell_no_value_the_config_decides():
    """Sockets, FastCGI ports and cookie names live in the config; the snippets use what `ssoctl generate` derives."""
    for folder in ("nginx", "apache"):
        for f in (ROOT / folder).glob("sso-*.conf"):
            text = "\n".join(line for line in f.read_text().splitlines() if not line.startswith("##"))
            assert "__Host-" not in text, f
            assert not re.search(r"/run/sso|unix:/|127\.0\.0\.1:\d+", text), f
