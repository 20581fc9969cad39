"""Logout is not a GET any site can trigger: a GET shows a page with the button; only a POST carrying the page's CSRF
token ends the session."""
import re

import pytest

from helpers import Browser, form_fields


def test_a_get_to_logout_does_not_sign_anyone_out(stack):
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    # Another site sends the browser to /logout (a link, a redirect, a top-level navigation: SameSite=Lax sends the cookie).
    page = b.get(stack.accounts + "/logout", headers={"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/"})
    assert page.status_code == 200
    assert re.search(r'<form[^>]*method="post"[^>]*action="/logout"', page.text), page.text[:500]
    assert b.get(stack.infusion + "/still-here").status_code == 200


def test_a_post_without_the_pages_token_is_refused(stack):
    b = Browser(stack)
    b.sign_in(stack.infusion + "/")
    r = b.post(stack.accounts + "/logout", data={"csrf": "forged"})
    assert r.status_code == 403
    assert b.get(stack.infusion + "/still-here").status_code == 200


@pytest.mark.parametrize("field", ["empty", "absent"])
def test_a_post_without_any_token_is_refused(stack, field):
    """A browser that signed in has no form cookie (signing in clears it): a POST with an empty token, or none, must not
    match that missing cookie (empty equals empty). A sibling subdomain's form (same-site: Lax cookies go with it)
    would otherwise sign anyone out."""
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    r = b.post(stack.accounts + "/logout", data={"csrf": ""} if field == "empty" else {})
    assert r.status_code == 403
    assert b.get(stack.infusion + "/still-here").status_code == 200


def test_the_button_signs_out_everywhere(stack):
    b = Browser(stack)
    b.sign_in(stack.infusion + "/")
    page = b.get(stack.accounts + "/logout")
    r = b.post(stack.accounts + "/logout", data=form_fields(page.text))
    assert r.status_code == 200 and "You are signed out" in r.text
    assert b.get(stack.infusion + "/after").status_code == 302
