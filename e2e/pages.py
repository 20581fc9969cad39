"""Helpers for reading what the browser shows."""
import json
import struct
import zlib
from urllib.parse import urlsplit

from selenium.common.exceptions import JavascriptException, NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def wait_host(driver, host, timeout=15):
    WebDriverWait(driver, timeout).until(lambda d: urlsplit(d.current_url).hostname == host)


# While the browser is still following redirects, the <body> found in one poll can be gone by the time its text is
# read (or a script runs as the document is replaced); that is a page in transit, not a failure, so the wait polls
# again.
IN_TRANSIT = (NoSuchElementException, StaleElementReferenceException, JavascriptException)


def wait_text(driver, text, timeout=15):
    # Found and read in one script, as in echo(): finding <body> and then reading its text in two commands failed once
    # in CI with chromedriver's "Node with given id does not belong to the document" when a navigation came in between.
    WebDriverWait(driver, timeout, ignored_exceptions=IN_TRANSIT).until(
        lambda d: text in (d.execute_script("return document.body ? document.body.innerText : ''") or ""))


def echo(driver, timeout=15):
    """The echo app's JSON as the browser shows it."""
    # Found and read in one script, so a page replaced between finding the <pre> and reading it is just polled again.
    text = WebDriverWait(driver, timeout, ignored_exceptions=IN_TRANSIT).until(
        lambda d: d.execute_script("const p = document.querySelector('pre'); return p ? p.textContent : null"))
    return json.loads(text)


def sign_in_with_keyboard(driver, username, password):
    """Types into the focused field (the user name has autofocus), tabs to the password, presses Enter."""
    from selenium.webdriver.common.keys import Keys
    WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "username")))
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "username", "the user name field should have focus"
    active.send_keys(username)
    active.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "password"
    driver.switch_to.active_element.send_keys(password + Keys.ENTER)


def open_and_sign_in(driver, url, accounts_host, username="alice", password="wonderland"):
    """Opens `url`, signs in on the accounts page it lands on, and waits to be back on `url`'s host."""
    driver.get(url)
    wait_host(driver, accounts_host)
    sign_in_with_keyboard(driver, username, password)
    wait_host(driver, urlsplit(url).hostname)


def png_distinct_bytes(png):
    """How many distinct byte values the decompressed image rows hold: a blank page has only a handful."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat = 8, b""
    while i < len(png):
        length, kind = struct.unpack(">I4s", png[i:i + 8])
        if kind == b"IDAT":
            idat += png[i + 8:i + 8 + length]
        i += 12 + length
    return len(set(zlib.decompress(idat)))


def csp_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def sign_out(driver, accounts_url):
    """Signs out the way a person does: the logout page, then its button."""
    driver.get(accounts_url + "/logout")
    WebDriverWait(driver, 15, ignored_exceptions=IN_TRANSIT).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, "form[action='/logout'] button"))).click()
    wait_text(driver, "You are signed out")
