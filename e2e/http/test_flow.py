"""The seed diagram end to end through the real web server: first access hop by hop, second access, SSO into the second
registrable domain, bob refused, wrong password vs unknown user, logout on both domains, API 401."""
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from helpers import Browser, form_fields

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_first_access_hop_by_hop_then_second_access(stack, browser):
    target = stack.infusion + "/reports/7?tab=a%20b&x=1"
    # 1-2. No cookie for this host: to accounts /noCookie with the original URL, and a state that binds the sign-in to
    # this browser (also set as a host-only cookie on the app host).
    r = browser.get(target)
    assert r.status_code == 302
    state = browser.cookie("infusion.iqueue.test", "__Host-sso_state").value
    assert r.headers["Location"] == stack.accounts + "/noCookie?redirectURL=" + quote(target, safe="") + "&state=" + state
    # 3. noCookie validates and sends on to copyCookie.
    r = browser.get(r.headers["Location"])
    assert r.status_code == 302
    assert r.headers["Location"] == "/copyCookie?redirectURL=" + quote(target, safe="") + "&state=" + state
    # 4. copyCookie without an accounts cookie: the sign-in form, naming the service.
    form = browser.get(stack.accounts + r.headers["Location"])
    assert form.status_code == 200
    assert 'name="username"' in form.text and 'name="password"' in form.text and "Infusion" in form.text
    assert form.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in form.headers["Content-Security-Policy"]
    # POST credentials: a JWT cookie for the accounts host and back to copyCookie.
    r = browser.submit_login(form, "alice", "wonderland")
    assert r.status_code == 302
    assert r.headers["Location"] == "/copyCookie?redirectURL=" + quote(target, safe="") + "&state=" + state
    set_cookie = [v for k, v in r.raw.headers.items() if k.lower() == "set-cookie" and v.startswith("__Host-sso=")][0]
    for attribute in ("Path=/", "Secure", "HttpOnly", "SameSite=Lax"):
        assert attribute in set_cookie
    assert "Domain" not in set_cookie
    # 5. copyCookie with a valid session: a requestID (UUID v4) to the app.
    r = browser.get(stack.accounts + r.headers["Location"])
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(target + "&requestID=")
    request_id = parse_qs(urlsplit(location).query)["requestID"][0]
    assert UUID.match(request_id)
    # 6. The app redeems it: its own host-only cookie, and the same URL without requestID.
    r = browser.get(location)
    assert r.status_code == 302
    assert r.headers["Location"] == target
    cookie = browser.cookie("infusion.iqueue.test")
    assert cookie is not None and cookie.secure and cookie.has_nonstandard_attr("HttpOnly")
    # The same attributes as the accounts cookie: SameSite=None would send it with every other site's form (CSRF
    # against the app), a Domain would hand it to sibling hosts.
    set_cookie = [v for k, v in r.raw.headers.items() if k.lower() == "set-cookie" and v.startswith("__Host-sso=")][0]
    for attribute in ("Path=/", "Secure", "HttpOnly", "SameSite=Lax"):
        assert attribute in set_cookie, set_cookie
    assert "Domain" not in set_cookie
    assert browser.cookie("infusion.iqueue.test", "__Host-sso_state") is None  # used up
    # The app itself, with the identity.
    r = browser.get(target)
    assert r.status_code == 200
    echo = r.json()
    assert echo["uri"] == "/reports/7?tab=a%20b&x=1"
    assert echo["headers"]["x-remote-user"] == "alice"
    assert echo["headers"]["x-remote-email"] == "alice@iqueue.test"
    assert echo["headers"]["x-remote-name"] == "Alice Liddell"
    # Second access: straight through.
    r = browser.get(stack.infusion + "/other")
    assert r.status_code == 200 and r.json()["uri"] == "/other"


def test_sso_into_second_domain_without_password(stack, browser):
    assert browser.sign_in(stack.infusion + "/").json()["headers"]["x-remote-user"] == "alice"
    final, hops = browser.follow(stack.dextor + "/dash?q=1")
    assert final.status_code == 200, final.text[:300]
    assert final.json()["headers"]["x-remote-user"] == "alice"
    assert final.json()["uri"] == "/dash?q=1"
    assert not any("/login" in h for h in hops)
    assert any("/copyCookie" in h for h in hops)
    assert browser.cookie("dextor.leantaas.test") is not None


def test_bob_is_refused_at_dextor_with_a_page_naming_it(stack):
    bob = Browser(stack)
    r = bob.sign_in(stack.infusion + "/", "bob", "builder")
    assert r.json()["headers"]["x-remote-user"] == "bob"
    final, _ = bob.follow(stack.dextor + "/")
    assert final.status_code == 403
    assert "No access to Dextor" in final.text
    assert bob.cookie("dextor.leantaas.test") is None


def test_bob_cannot_use_his_cookie_at_dextor(stack):
    bob = Browser(stack)
    bob.sign_in(stack.infusion + "/", "bob", "builder")
    token = bob.cookie("infusion.iqueue.test").value
    thief = Browser(stack)
    thief.session.cookies.set("__Host-sso", token, domain="dextor.leantaas.test", path="/")
    r = thief.get(stack.dextor + "/")
    # Not dextor's token: the check refuses it and sends the browser to sign in, where bob has no access to Dextor.
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]


def test_wrong_password_and_unknown_user_look_the_same(stack):
    answers = []
    for user, password in (("alice", "not-her-password"), ("nobody-such", "whatever")):
        b = Browser(stack)
        form, _ = b.follow(stack.infusion + "/")
        r = b.submit_login(form, user, password)
        body = re.sub(r'value="[^"]*"', 'value=""', r.text)
        body = re.sub(r"nonce-[^']+'|nonce=\"[^\"]+\"", "N", body)
        answers.append((r.status_code, body.replace(user, "USER")))
        assert "The user name or password is incorrect." in r.text
        assert b.cookie("accounts.iqueue.test") is None
    assert answers[0] == answers[1]


def test_failed_sign_ins_are_throttled(stack):
    b = Browser(stack)
    statuses = []
    for _ in range(6):
        form, _ = b.follow(stack.infusion + "/")
        statuses.append(b.submit_login(form, "carol-throttled", "bad").status_code)
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    form, _ = b.follow(stack.infusion + "/")
    r = b.submit_login(form, "carol-throttled", "bad")
    assert r.status_code == 429 and "Too many failed sign-in attempts" in r.text


def test_login_without_csrf_cookie_is_refused(stack):
    b = Browser(stack)
    form, _ = b.follow(stack.infusion + "/")
    b.session.cookies.clear(domain="accounts.iqueue.test")
    r = b.submit_login(form, "alice", "wonderland")
    assert r.status_code == 403 and "expired" in r.text
    assert b.cookie("accounts.iqueue.test") is None


@pytest.mark.parametrize("field", ["empty", "absent"])
def test_a_cross_site_sign_in_without_any_token_is_refused(stack, field):
    """Login CSRF: another site auto-submits its own credentials into a browser that has no form cookie (the usual
    case: signing in clears it). An empty cookie and an empty field are equal, so only the rule that the cookie must
    be there keeps the victim from being signed in as the attacker."""
    victim = Browser(stack)
    data = {"username": "bob", "password": "builder"} | ({"csrf": ""} if field == "empty" else {})
    r = victim.post(stack.accounts + "/login", data=data, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "expired" in r.text, (r.status_code, r.text[:300])
    assert victim.cookie("accounts.iqueue.test") is None


def test_a_browser_that_refuses_cookies_is_told_so_on_the_sign_in_page(stack):
    """With cookies blocked, every sign-in comes back as an expired form: the page must say what to change, not only ask
    for the password again (which would come back the same forever)."""
    from http.cookiejar import DefaultCookiePolicy
    b = Browser(stack)
    b.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    form, _ = b.follow(stack.infusion + "/")
    assert 'name="password"' in form.text
    r = b.submit_login(form, "alice", "wonderland")
    assert r.status_code == 403 and "cookies" in r.text
    assert "accounts.iqueue.test" in r.text


def test_logout_ends_the_session_on_both_domains(stack, browser):
    browser.sign_in(stack.infusion + "/")
    assert browser.follow(stack.dextor + "/")[0].status_code == 200
    r = browser.sign_out()
    assert r.status_code == 200 and "signed out" in r.text
    for app in (stack.infusion, stack.dextor):
        r = browser.get(app + "/after")
        assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]
        form, _ = browser.follow(app + "/after")
        assert 'name="password"' in form.text


def test_logout_with_allowed_redirect(stack, browser):
    browser.sign_in(stack.infusion + "/")
    page = browser.get(stack.accounts + "/logout?redirectURL=" + quote(stack.infusion + "/bye", safe=""))
    r = browser.post(stack.accounts + "/logout", data=form_fields(page.text))
    assert r.status_code == 303 and r.headers["Location"] == stack.infusion + "/bye"
    page = browser.get(stack.accounts + "/logout?redirectURL=" + quote("https://evil.example/", safe=""))
    fields = form_fields(page.text)
    assert fields["redirectURL"] == ""
    fields["redirectURL"] = "https://evil.example/"
    r = browser.post(stack.accounts + "/logout", data=fields)
    assert r.status_code == 200 and "Location" not in r.headers and "signed out" in r.text


def test_api_requests_get_401_json_not_a_redirect(stack):
    b = Browser(stack)
    for headers in ({"Accept": "application/json"}, {"X-Requested-With": "XMLHttpRequest"}, {"Sec-Fetch-Mode": "cors"}):
        r = b.get(stack.infusion + "/api/items", headers=headers)
        assert r.status_code == 401, headers
        body = r.json()
        assert body["error"] == "unauthenticated"
        assert body["login_url"].startswith(stack.accounts + "/noCookie?redirectURL=")
    r = b.get(stack.infusion + "/page", headers={"Sec-Fetch-Mode": "navigate"})
    assert r.status_code == 302


def test_spoofed_identity_headers_never_reach_the_app(stack, browser):
    browser.sign_in(stack.infusion + "/")
    spoof = {"X-Remote-User": "mallory", "X-Remote-Email": "m@evil", "X-Remote-Name": "Mallory"}
    echo = browser.get(stack.infusion + "/", headers=spoof).json()
    assert echo["headers"]["x-remote-user"] == "alice"
    assert echo["headers"]["x-remote-email"] == "alice@iqueue.test"
    assert echo["headers"]["x-remote-name"] == "Alice Liddell"
    anonymous = Browser(stack)
    r = anonymous.get(stack.infusion + "/", headers=spoof)
    assert r.status_code == 302


def test_accounts_landing_and_unknown_paths(stack, browser):
    r = browser.get(stack.accounts + "/")
    assert r.status_code == 200 and 'name="password"' in r.text
    browser.sign_in(stack.infusion + "/")
    r = browser.get(stack.accounts + "/")
    assert r.status_code == 200 and "You are signed in" in r.text and "Infusion" in r.text and "Dextor" in r.text
    assert browser.get(stack.accounts + "/nope").status_code == 404
    assert browser.session.put(stack.accounts + "/login", timeout=5).status_code == 405


def test_unknown_host_is_refused(stack):
    import urllib3
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the certificate has no IP name, on purpose
    b = Browser(stack)
    r = b.session.get(f"https://127.0.0.1:{stack.https_port}/", verify=False, timeout=5, allow_redirects=False)
    assert r.status_code == 421
