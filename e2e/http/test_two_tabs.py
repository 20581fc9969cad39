"""One browser, two tabs: two apps (or two pages of one app) send the user to the sign-in form, and the user signs in on
either form first. Neither tab may end on "This sign-in page expired" or lose its way back to the page it was opened
for; and nothing about it lets another site sign the browser in, or on as another user."""
import requests

from helpers import Browser, form_fields


def open_forms(browser, *urls):
    """The sign-in form each of `urls` leads to, opened one after the other as tabs would be."""
    forms = []
    for url in urls:
        form, _ = browser.follow(url)
        assert 'name="password"' in form.text, form.text[:300]
        forms.append(form)
    return forms


def finish(browser, response):
    """Follows a sign-in answer (a redirect) to the page it leads to."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    final, _ = browser.follow(requests.compat.urljoin(browser.stack.accounts, response.headers["Location"]))
    return final


def test_the_older_of_two_open_forms_signs_in(stack):
    b = Browser(stack)
    first, _second = open_forms(b, stack.infusion + "/tab/one", stack.dextor + "/tab/two")
    final = finish(b, b.submit_login(first, "alice", "wonderland"))
    assert final.status_code == 200 and final.json()["uri"] == "/tab/one"


def test_a_form_left_open_after_signing_in_in_another_tab_carries_on_to_its_page(stack):
    b = Browser(stack)
    first, second = open_forms(b, stack.infusion + "/tab/one", stack.dextor + "/tab/two")
    assert finish(b, b.submit_login(first, "alice", "wonderland")).json()["uri"] == "/tab/one"
    # The user goes back to the other tab and signs in there too (the password typed, or not).
    for password in ("wonderland", ""):
        final = finish(b, b.submit_login(second, "alice", password))
        assert final.status_code == 200 and final.json()["uri"] == "/tab/two"
        assert final.json()["headers"]["x-remote-user"] == "alice"


def test_two_pages_of_one_app_each_get_back_to_their_own_page(stack):
    b = Browser(stack)
    first, second = open_forms(b, stack.infusion + "/tab/one", stack.infusion + "/tab/two")
    assert finish(b, b.submit_login(first, "alice", "wonderland")).json()["uri"] == "/tab/one"
    final = finish(b, b.submit_login(second, "alice", "wonderland"))
    assert final.status_code == 200 and final.json()["uri"] == "/tab/two"


def test_a_stale_form_does_not_carry_a_signed_in_browser_on_as_someone_else(stack):
    b = Browser(stack)
    first, second = open_forms(b, stack.infusion + "/tab/one", stack.dextor + "/tab/two")
    finish(b, b.submit_login(first, "alice", "wonderland"))
    r = b.submit_login(second, "carol", "")
    assert r.status_code == 403 and "expired" in r.text
    assert b.follow(stack.dextor + "/tab/two")[0].json()["headers"]["x-remote-user"] == "alice"


def test_another_sites_post_never_signs_a_browser_in(stack):
    """Login CSRF: a form on another site posts the attacker's credentials. Signed out, the browser gets the expired
    form and no session; the attacker's known token from their own browser does not help."""
    attacker = Browser(stack)
    attacker_form = open_forms(attacker, stack.infusion + "/x")[0]
    victim = Browser(stack)
    open_forms(victim, stack.dextor + "/y")  # the victim has a form (and its token) of their own
    fields = form_fields(attacker_form.text)
    fields.update(username="alice", password="wonderland")
    r = victim.post(stack.accounts + "/login", data=fields, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "expired" in r.text
    assert victim.cookie("accounts.iqueue.test") is None

