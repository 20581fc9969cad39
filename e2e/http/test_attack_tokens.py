"""The apps never see a token that works elsewhere: the SSO cookies are removed before a request reaches an app, and the
cookie a host sets is accepted on that host only (accounts included). One logout still ends them all."""
from urllib.parse import quote

import pytest

from helpers import Browser

SSO_COOKIES = ("__Host-sso", "__Host-sso_replay", "__Host-sso_state")


def test_the_app_never_receives_the_sso_cookies_but_keeps_its_own(stack):
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    b.session.cookies.set("app_pref", "dark", domain="infusion.iqueue.test", path="/")
    echo = b.get(stack.infusion + "/page").json()
    cookie = echo["headers"].get("cookie", "")
    for name in SSO_COOKIES:
        assert name + "=" not in cookie, cookie
    assert "app_pref=dark" in cookie
    # Only SSO cookies: the app gets no Cookie header at all (or an empty one), never a fragment of ours.
    b.session.cookies.clear(domain="infusion.iqueue.test", path="/", name="app_pref")
    echo = b.get(stack.infusion + "/page").json()
    assert "sso" not in echo["headers"].get("cookie", "")


@pytest.mark.parametrize("path", ["/_sso/x", "/_sso/capturex", "/_sso/capture;x", "/_sso/healthz", "/_SSO/capture"])
def test_no_path_under_sso_hands_the_app_the_sso_cookies(stack, path):
    """Only the paths AppAuthFCGI answers keep the SSO cookies on the way; every other path under /_sso/ goes to the
    app like any page. A malicious app could link its user to /_sso/steal and read the token (Apache kept the cookies
    for every /_sso/ path)."""
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    b.session.cookies.set("__Host-sso_state", "s", domain="infusion.iqueue.test", path="/")
    r = b.get(stack.infusion + path)
    assert r.status_code == 200 and r.json()["app"] == "infusion", (path, r.status_code, r.text[:200])  # the app's echo
    cookie = r.json()["headers"].get("cookie", "")
    for name in SSO_COOKIES:
        assert name + "=" not in cookie, (path, cookie[:80])


@pytest.mark.parametrize("spelling", ["twice, the valid one first", "a space before ="])
def test_no_spelling_of_the_session_cookie_carries_it_to_the_app(stack, spelling):
    """The web servers remove the SSO's cookies before the app by name, once per name (nginx's map) or by exact
    spelling: a header the check read a valid token from but the removal missed handed the token to the app. A name
    sent twice, or with a space before '=', is no session: sign-in is asked for and nothing reaches the app."""
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    token = b.cookie("infusion.iqueue.test").value
    header = {"twice, the valid one first": f"__Host-sso={token}; a=1; __Host-sso=junk",
              "a space before =": f"__Host-sso ={token}; a=1"}[spelling]
    r = b.get(stack.infusion + "/page", headers={"Cookie": header})
    assert token not in r.text, (spelling, r.status_code)
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"], (spelling, r.status_code)


@pytest.mark.parametrize("position", ["last", "middle", "state and replay in the middle"])
def test_the_sso_cookies_are_removed_wherever_they_stand_in_the_header(stack, position):
    """Browsers send cookies in the order they were set, so an app's own cookie often comes first. The web servers must
    remove the SSO's cookies from anywhere in the header, not only from its start."""
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    token = b.cookie("infusion.iqueue.test").value
    header = {"last": f"a=1; __Host-sso={token}",
              "middle": f"a=1; __Host-sso={token}; b=2",
              "state and replay in the middle": f"a=1; __Host-sso_state=s1; __Host-sso={token}; __Host-sso_replay=r1; b=2"}[position]
    r = b.get(stack.infusion + "/page", headers={"Cookie": header})
    assert r.status_code == 200, (position, r.status_code)
    cookie = r.json()["headers"].get("cookie", "")
    assert token not in r.text and "__Host-sso" not in cookie, (position, cookie[:120])
    assert "a=1" in cookie and (position == "last" or "b=2" in cookie), (position, cookie)


def token_of(browser, host):
    return browser.cookie(host).value


def test_one_hosts_cookie_is_refused_on_another_host(stack):
    alice = Browser(stack)
    assert alice.sign_in(stack.infusion + "/").status_code == 200
    assert alice.follow(stack.dextor + "/")[0].status_code == 200
    stolen = token_of(alice, "infusion.iqueue.test")
    thief = Browser(stack)
    thief.session.cookies.set("__Host-sso", stolen, domain="dextor.leantaas.test", path="/")
    r = thief.get(stack.dextor + "/")
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"], r.status_code
    # The same token on its own host still works, and the host tokens differ.
    assert stolen != token_of(alice, "dextor.leantaas.test")
    assert alice.get(stack.infusion + "/").status_code == 200


def test_an_app_hosts_cookie_is_no_accounts_session(stack):
    alice = Browser(stack)
    assert alice.sign_in(stack.infusion + "/").status_code == 200
    stolen = token_of(alice, "infusion.iqueue.test")
    thief = Browser(stack)
    thief.session.cookies.set("__Host-sso", stolen, domain="accounts.iqueue.test", path="/")
    r = thief.get(stack.accounts + "/copyCookie?redirectURL=" + quote(stack.dextor + "/", safe=""))
    assert r.status_code == 200 and 'name="password"' in r.text, (r.status_code, r.headers.get("Location"))


def test_one_logout_still_ends_every_hosts_token(stack):
    alice = Browser(stack)
    alice.sign_in(stack.infusion + "/")
    alice.follow(stack.dextor + "/")
    tokens = {h: token_of(alice, h) for h in ("infusion.iqueue.test", "dextor.leantaas.test")}
    alice.sign_out()
    for host, token in tokens.items():
        again = Browser(stack)
        again.session.cookies.set("__Host-sso", token, domain=host, path="/")
        r = again.get(stack.origin(host) + "/")
        assert r.status_code == 302, (host, r.status_code)
