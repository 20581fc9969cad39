"""Cookie tossing through a comma. A sibling host (evil.iqueue.test, or one malicious app beside accounts) may set a
cookie for the whole registrable domain, never a `__Host-` one. But browsers accept a comma inside a cookie's value:
after `Set-Cookie: x=1,__Host-sso_csrf=K; Domain=iqueue.test; Path=/login` Chromium sends `Cookie: x=1,__Host-sso_csrf=K`
(verified with headless Chromium during the review). A reader that splits pairs at ',' finds a `__Host-` cookie the
browser never had, so the prefix would protect nothing: a forged sign-in (login CSRF), another user's token read
before the victim's own, a replay cookie that makes every page say the submission was not kept. Each test sends the
Cookie header such a browser sends, through nginx and Apache."""
import json

from helpers import Browser


def accounts_cookies(browser):
    return "; ".join(f"{c.name}={c.value}" for c in browser.session.cookies if c.domain.startswith("accounts."))


def test_a_tossed_csrf_cookie_does_not_forge_a_sign_in(stack):
    """The sibling plants the form cookie K, then its page posts the attacker's credentials with csrf=K."""
    victim = Browser(stack, user_agent="Mozilla/5.0 VictimBrowser/1.0")
    victim.follow(stack.infusion + "/")  # the victim has the sign-in form open: a real form cookie of its own
    planted = "x=1,__Host-sso_csrf=attacker-chosen-form-token"
    real = accounts_cookies(victim)
    r = victim.session.post(stack.accounts + "/login", allow_redirects=False, timeout=10,
                            headers={"Cookie": planted + ("; " + real if real else ""), "Origin": "https://evil.iqueue.test"},
                            data={"csrf": "attacker-chosen-form-token", "username": "alice", "password": "wonderland",
                                  "redirectURL": stack.infusion + "/"})
    set_cookies = r.raw.headers.getlist("Set-Cookie")
    assert not any(h.startswith("__Host-sso=") for h in set_cookies), (r.status_code, set_cookies)
    assert r.status_code != 302 or "/copyCookie" not in r.headers.get("Location", ""), r.headers.get("Location")


def test_a_tossed_session_cookie_before_the_real_one_is_not_read(stack):
    """The attacker signs in as alice with the victim's User-Agent (not a secret) and tosses that token to the victim:
    a cookie with a longer Path comes first in the header. The check must see bob, the victim, or no one."""
    ua = "Mozilla/5.0 VictimBrowser/2.0"
    attacker = Browser(stack, user_agent=ua)
    assert attacker.sign_in(stack.infusion + "/", "alice", "wonderland").status_code == 200
    alice_token = attacker.cookie("infusion.iqueue.test").value
    victim = Browser(stack, user_agent=ua)
    assert victim.sign_in(stack.infusion + "/", "bob", "builder").status_code == 200
    bob_token = victim.cookie("infusion.iqueue.test").value
    r = victim.get(stack.infusion + "/reports/", headers={"Cookie": f"x=1,__Host-sso={alice_token}; __Host-sso={bob_token}"})
    assert r.status_code == 200, (r.status_code, r.headers.get("Location"))
    echo = json.loads(r.text)
    assert echo["headers"].get("x-remote-user") == "bob", echo["headers"].get("x-remote-user")


def test_a_tossed_replay_cookie_does_not_stop_every_page(stack):
    """`__Host-sso_replay` names a kept submission; a tossed one ("too-many") made every page of a signed-in user the
    "not kept" page, and its Set-Cookie could clear only the real cookie, never the planted one."""
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    token = b.cookie("infusion.iqueue.test").value
    r = b.get(stack.infusion + "/inbox", headers={"Cookie": f"x=1,__Host-sso_replay=too-many; __Host-sso={token}"})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert json.loads(r.text)["headers"].get("x-remote-user") == "alice"
