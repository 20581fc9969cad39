"""Clocks on a stack with short settings: idle timeout 3 s, absolute lifetime 8 s, requestID TTL 2 s."""
import time
from urllib.parse import quote

from helpers import Browser


def refused(r):
    return r.status_code == 302 and "/noCookie?" in r.headers["Location"]


def test_session_survives_while_used_and_dies_when_idle(short_stack):
    b = Browser(short_stack)
    assert b.sign_in(short_stack.infusion + "/").status_code == 200
    started = time.time()
    while time.time() - started < 5:  # longer than the 3 s idle timeout, used every second
        r = b.get(short_stack.infusion + "/tick")
        assert r.status_code == 200, f"session died while in use after {time.time() - started:.1f} s"
        time.sleep(1)
    time.sleep(4.2)  # idle for longer than the timeout
    assert refused(b.get(short_stack.infusion + "/tick"))
    # The accounts session is the same one: it is gone there too, so a password is asked for.
    form, _ = b.follow(short_stack.infusion + "/tick")
    assert 'name="password"' in form.text


def test_absolute_lifetime_ends_an_active_session(short_stack):
    b = Browser(short_stack)
    before = time.time()  # the session is created between `before` and `after`
    assert b.sign_in(short_stack.infusion + "/").status_code == 200
    after = time.time()
    results = []  # (seconds since `before`, seconds since `after`, status)
    while time.time() - after < 10:
        now = time.time()
        results.append((round(now - before, 1), round(now - after, 1), b.get(short_stack.infusion + "/busy").status_code))
        time.sleep(0.5)
    # Used every half second, so never idle; whole seconds on the clocks make the 8 s lifetime end between 7 and 8 s.
    assert all(code == 200 for since_before, _, code in results if since_before < 6.5), results
    assert all(code == 302 for _, since_after, code in results if since_after > 8.5), results


def test_expired_request_id_is_refused(short_stack):
    b = Browser(short_stack)
    b.sign_in(short_stack.infusion + "/")
    location = b.request_id_link(short_stack.dextor + "/late")
    time.sleep(3.2)
    assert refused(b.get(location))
    assert b.cookie("dextor.leantaas.test") is None
