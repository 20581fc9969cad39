"""The product in a real browser (headless Chromium): cookies, SameSite, redirects across registrable domains and
auto-submitted forms behave here as they do for users. Runs against nginx and Apache."""
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from helpers import ARTIFACTS, SERVERS, make_stack
from pages import csp_errors, echo, sign_out, open_and_sign_in, png_distinct_bytes, sign_in_with_keyboard, wait_host, wait_text


@pytest.fixture(scope="module", params=SERVERS)
def stack(request, tmp_root):
    """As conftest's `stack`, but the programs log at info, not debug, in this suite."""
    s = make_stack(tmp_root, request.param, log_level="info")
    s.start()
    yield s
    s.stop()


def screenshot(driver, stack, name):
    """Saves a screenshot under artifacts/ and fails if the page rendered blank."""
    folder = ARTIFACTS / stack.server
    folder.mkdir(parents=True, exist_ok=True)
    png = driver.get_screenshot_as_png()
    (folder / f"{name}.png").write_bytes(png)
    text = driver.find_element(By.TAG_NAME, "body").text.strip()
    assert len(text) > 20, f"{name}: almost no text on the page"
    assert png_distinct_bytes(png) > 16, f"{name}: the screenshot is blank"


def test_sign_in_once_then_second_domain_then_sign_out(stack, driver):
    target = stack.infusion + "/reports/q3?view=full"
    driver.get(target)
    wait_host(driver, "accounts.iqueue.test")
    assert "Infusion" in driver.find_element(By.TAG_NAME, "main").text  # the page names where the user is going
    assert driver.find_element(By.CSS_SELECTOR, "label[for=username]").text == "User name"
    assert driver.find_element(By.CSS_SELECTOR, "label[for=password]").text == "Password"
    screenshot(driver, stack, "sign-in")
    assert csp_errors(driver) == [], "the page's own styles must pass its CSP"
    sign_in_with_keyboard(driver, "alice", "wonderland")
    wait_host(driver, "infusion.iqueue.test")
    assert driver.current_url == target  # the page first asked for, no requestID left
    assert "requestID" not in driver.current_url
    data = echo(driver)
    assert data["headers"]["x-remote-user"] == "alice" and data["uri"] == "/reports/q3?view=full"

    # Cookies as the browser holds them: host-only, Secure, HttpOnly, SameSite=Lax.
    cookies = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
    infusion = [c for c in cookies if c["name"] == "__Host-sso" and c["domain"] == "infusion.iqueue.test"]
    assert len(infusion) == 1
    c = infusion[0]
    assert c["secure"] and c["httpOnly"] and c["sameSite"] == "Lax" and c["path"] == "/"
    assert not c["domain"].startswith(".")  # host-only
    assert not any(c["name"] == "__Host-sso" and c["domain"].endswith("iqueue.test") and c["domain"] != "infusion.iqueue.test"
                   and c["domain"] != "accounts.iqueue.test" for c in cookies)
    assert driver.execute_script("return document.cookie").find("__Host-sso") == -1  # not readable by scripts

    # A second registrable domain: no password prompt.
    driver.get(stack.dextor + "/dash")
    wait_host(driver, "dextor.leantaas.test")
    assert echo(driver)["headers"]["x-remote-user"] == "alice"
    assert "requestID" not in driver.current_url

    # Sign out: both apps ask for a password again.
    driver.get(stack.accounts + "/logout")
    screenshot(driver, stack, "sign-out")
    sign_out(driver, stack.accounts)
    screenshot(driver, stack, "signed-out")
    for app in (stack.infusion, stack.dextor):
        driver.get(app + "/again")
        wait_host(driver, "accounts.iqueue.test")
        assert driver.find_elements(By.ID, "password")


def test_wrong_password_is_announced(stack, driver):
    driver.get(stack.infusion + "/")
    wait_host(driver, "accounts.iqueue.test")
    sign_in_with_keyboard(driver, "alice", "not-the-password")
    wait_text(driver, "The user name or password is incorrect.")
    alert = driver.find_element(By.ID, "form-error")
    assert alert.get_attribute("role") == "alert" and alert.get_attribute("aria-live") == "assertive"
    assert driver.find_element(By.ID, "username").get_attribute("value") == "alice"
    assert driver.switch_to.active_element.get_attribute("id") == "password"  # focus where the fix is
    screenshot(driver, stack, "wrong-password")


def test_bad_redirect_is_a_clear_error(stack, driver):
    driver.get(stack.accounts + "/noCookie?redirectURL=https%3A%2F%2Fevil.example%2F")
    wait_text(driver, "This link cannot be used")
    screenshot(driver, stack, "error-bad-link")


def test_bob_sees_a_clear_no_access_page(stack, driver):
    open_and_sign_in(driver, stack.infusion + "/", "accounts.iqueue.test", "bob", "builder")
    driver.get(stack.dextor + "/")
    wait_text(driver, "No access to Dextor")
    assert "bob" not in driver.current_url
    screenshot(driver, stack, "no-access")


def test_form_sent_after_sign_out_in_another_tab_reaches_the_app(stack, driver):
    open_and_sign_in(driver, stack.infusion + "/forms/new", "accounts.iqueue.test")
    form_tab = driver.current_window_handle
    # The session ends in another tab while the form is open.
    driver.switch_to.new_window("tab")
    sign_out(driver, stack.accounts)
    driver.close()
    driver.switch_to.window(form_tab)
    # The user submits the form they were filling in (a real form of this page, submitted by the browser).
    driver.execute_script("""
        const f = document.createElement('form');
        f.method = 'post'; f.action = '/forms/submit?draft=7';
        for (const [k, v] of [['title', 'Compte rendu — été'], ['tag', 'a'], ['tag', 'b'], ['note', 'line 1\\nline 2 & more']]) {
            const i = document.createElement('textarea'); i.name = k; i.value = v; f.appendChild(i);
        }
        document.body.appendChild(f); f.submit();
    """)
    wait_host(driver, "accounts.iqueue.test")
    sign_in_with_keyboard(driver, "alice", "wonderland")
    wait_host(driver, "infusion.iqueue.test")
    data = echo(driver)
    assert data["method"] == "POST" and data["uri"] == "/forms/submit?draft=7"
    assert data["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert data["headers"]["x-remote-user"] == "alice"
    from urllib.parse import parse_qs
    fields = parse_qs(data["body"])
    assert fields["title"] == ["Compte rendu — été"] and fields["tag"] == ["a", "b"]
    assert fields["note"] == ["line 1\r\nline 2 & more"]  # browsers normalise textarea newlines to CRLF
    # Exactly once: a reload is an ordinary GET.
    driver.refresh()
    assert echo(driver)["method"] == "GET"
    assert urlsplit(driver.current_url).path == "/forms/submit"


def submit_form(driver, action, note):
    """Submits a real form of the current page, as the user's click would."""
    driver.execute_script("""
        const f = document.createElement('form');
        f.method = 'post'; f.action = arguments[0];
        const i = document.createElement('textarea'); i.name = 'note'; i.value = arguments[1]; f.appendChild(i);
        document.body.appendChild(f); f.submit();
    """, action, note)


def test_forms_sent_from_two_tabs_after_the_session_ended_both_reach_the_app(stack, driver):
    """Two tabs of one app, each with a form open, when the session ends: each form lands on a sign-in page; the user
    signs in on the first tab, then goes back to the second and signs in there too. Each form is delivered, once."""
    open_and_sign_in(driver, stack.infusion + "/forms/new?tab=1", "accounts.iqueue.test")
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(stack.infusion + "/forms/new?tab=2")
    second = driver.current_window_handle
    driver.switch_to.new_window("tab")
    sign_out(driver, stack.accounts)
    driver.close()
    for tab, n in ((first, 1), (second, 2)):
        driver.switch_to.window(tab)
        submit_form(driver, f"/forms/submit?tab={n}", f"from tab {n}")
        wait_host(driver, "accounts.iqueue.test")
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "password")))
    for tab, n in ((first, 1), (second, 2)):
        driver.switch_to.window(tab)
        sign_in_with_keyboard(driver, "alice", "wonderland")
        wait_host(driver, "infusion.iqueue.test")
        data = echo(driver)
        assert (data["method"], data["uri"], data["body"]) == ("POST", f"/forms/submit?tab={n}", f"note=from+tab+{n}")
        assert data["headers"]["x-remote-user"] == "alice"
    driver.refresh()
    assert echo(driver)["method"] == "GET"


def test_sign_in_page_fits_a_phone(stack, driver):
    driver.set_window_size(390, 844)
    driver.get(stack.infusion + "/")
    wait_host(driver, "accounts.iqueue.test")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    button = driver.find_element(By.CSS_SELECTOR, "button[type=submit]")
    assert button.size["width"] > 300  # full-width on a narrow screen
    screenshot(driver, stack, "sign-in-phone")


def test_submission_that_cannot_be_kept_is_explained(stack, driver):
    open_and_sign_in(driver, stack.infusion + "/forms/new", "accounts.iqueue.test")
    driver.switch_to.new_window("tab")
    sign_out(driver, stack.accounts)
    driver.close()
    driver.switch_to.window(driver.window_handles[0])
    # A form whose body is larger than what is kept (1 MiB by default).
    driver.execute_script("""
        const f = document.createElement('form'); f.method = 'post'; f.action = '/forms/upload';
        const i = document.createElement('textarea'); i.name = 'big'; i.value = 'x'.repeat(1100000); f.appendChild(i);
        document.body.appendChild(f); f.submit();
    """)
    wait_host(driver, "accounts.iqueue.test")
    sign_in_with_keyboard(driver, "alice", "wonderland")
    wait_text(driver, "Your submission was not kept")
    assert "1 MiB" in driver.find_element(By.TAG_NAME, "main").text
    screenshot(driver, stack, "not-kept")
    driver.find_element(By.LINK_TEXT, "Continue to Infusion").click()
    assert echo(driver)["method"] == "GET"


def test_store_down_page(stack, driver):
    """Last in this module: it stops memcached."""
    open_and_sign_in(driver, stack.infusion + "/", "accounts.iqueue.test")
    stack.stop_memcached()
    try:
        driver.get(stack.infusion + "/during")
        wait_text(driver, "Sign-in is unavailable")
        screenshot(driver, stack, "store-down")
    finally:
        stack.start_memcached()
