"""The hand-off belongs to the browser that started it (login CSRF / session swap).

The attack: any signed-in user can fetch copyCookie for an app with their own cookie, not follow the redirect, and send
the resulting `…?requestID=…` link to a victim, whose browser would be signed in as the attacker (replacing any session
it had there), so whatever the victim types lands in the attacker's account. A requestID is now redeemed only by the
browser holding the state cookie the app set when it sent that browser to sign in."""
from urllib.parse import parse_qs, quote, urlsplit

import requests

from helpers import Browser


def attacker_link(stack, target):
    """bob, signed in at accounts, gets a requestID link into `target` that he does not follow: straight from copyCookie
    if it hands one out, else by starting a sign-in at the app himself (his browser gets the state cookie, not the
    victim's)."""
    bob = Browser(stack)
    assert bob.sign_in(stack.infusion + "/", "bob", "builder").json()["headers"]["x-remote-user"] == "bob"
    r = bob.get(stack.accounts + "/copyCookie?redirectURL=" + quote(target, safe=""))
    if r.status_code == 302 and "requestID=" in r.headers["Location"]:
        return bob, r.headers["Location"]
    bob.session.cookies.clear(domain="infusion.iqueue.test", path="/", name="__Host-sso")
    return bob, bob.request_id_link(target)


def test_a_planted_request_id_does_not_sign_the_victim_in(stack):
    bob, link = attacker_link(stack, stack.infusion + "/inbox")
    victim = Browser(stack)
    r = victim.get(link)
    assert victim.cookie("infusion.iqueue.test") is None, "the victim was signed in with the attacker's hand-off"
    assert r.status_code in (200, 403) and "Sign in" in r.text, (r.status_code, r.text[:300])
    # Burned: not even the attacker can use it afterwards.
    again = Browser(stack)
    assert again.get(link).status_code != 302 or again.cookie("infusion.iqueue.test") is None


def test_a_planted_request_id_does_not_replace_the_victims_session(stack):
    bob, link = attacker_link(stack, stack.infusion + "/inbox")
    alice = Browser(stack)
    assert alice.sign_in(stack.infusion + "/").json()["headers"]["x-remote-user"] == "alice"
    before = alice.cookie("infusion.iqueue.test").value
    alice.get(link)
    assert alice.cookie("infusion.iqueue.test").value == before
    assert alice.get(stack.infusion + "/inbox").json()["headers"]["x-remote-user"] == "alice"


def test_sso_into_the_second_domain_still_needs_no_password(stack):
    alice = Browser(stack)
    alice.sign_in(stack.infusion + "/")
    final, hops = alice.follow(stack.dextor + "/dash")
    assert final.status_code == 200 and final.json()["headers"]["x-remote-user"] == "alice"
    assert not any("/login" in h for h in hops)


def test_another_users_hand_off_asks_before_replacing_a_session(stack):
    """Same browser: signed in to infusion as alice, then (in another tab) to accounts as bob, and a sign-in into
    infusion comes back for bob. It is not taken silently: a page says who is signed in and asks."""
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").json()["headers"]["x-remote-user"] == "alice"
    alice_cookie = b.cookie("infusion.iqueue.test").value
    # bob signs in on the accounts host of the same browser (alice's session stays valid).
    form, _ = b.follow(stack.accounts + "/login")
    assert b.submit_login(form, "bob", "builder").status_code == 302
    # infusion sends this browser to sign in (as after its cookie was lost), and bob's hand-off comes back ...
    b.session.cookies.clear(domain="infusion.iqueue.test", path="/", name="__Host-sso")
    link = b.request_id_link(stack.infusion + "/page")
    # ... while alice's session cookie is there again (another tab signed in meanwhile).
    b.session.cookies.set("__Host-sso", alice_cookie, domain="infusion.iqueue.test", path="/", secure=True)
    page = b.get(link)
    assert page.status_code == 409, page.status_code
    assert "alice" in page.text.lower() and "bob" in page.text.lower()
    assert b.cookie("infusion.iqueue.test").value == alice_cookie
    assert b.get(stack.infusion + "/page").json()["headers"]["x-remote-user"] == "alice"
    # Continuing as bob is the user's choice, on the page.
    go = [a for a in __import__("re").findall(r'href="([^"]+)"', page.text) if "requestID=" in a]
    assert go, page.text
    r = b.get(requests.compat.urljoin(link, go[0].replace("&amp;", "&")))
    assert r.status_code == 302
    assert b.get(stack.infusion + "/page").json()["headers"]["x-remote-user"] == "bob"
