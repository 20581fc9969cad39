"""Nobody can lock someone else out by failing their password, parallel guesses cannot overshoot the limits, and an
unknown user name costs the same time as a known one.

Clients come from different loopback addresses (127.0.0.2, 127.0.0.3, …), which the servers see as REMOTE_ADDR."""
import concurrent.futures
import statistics
import time

import pytest

from helpers import SERVERS, Browser, make_stack


def attempt(stack, browser, username, password):
    form, _ = browser.follow(stack.accounts + "/login")
    return browser.submit_login(form, username, password)


def test_a_stranger_failing_alices_password_does_not_lock_her_out(stack):
    alice = Browser(stack, source="127.0.0.3")
    assert alice.sign_in(stack.infusion + "/").status_code == 200  # she has signed in from this browser before
    assert alice.sign_out().status_code == 200
    stranger = Browser(stack, source="127.0.0.2")
    statuses = [attempt(stack, stranger, "alice", f"guess-{i}").status_code for i in range(12)]
    assert 429 in statuses  # the stranger is slowed down ...
    r = attempt(stack, alice, "alice", "wonderland")
    assert r.status_code == 302, (r.status_code, r.text[:300])  # ... alice is not
    # And from a browser alice never used, at another address, the right password is not refused either.
    fresh = Browser(stack, source="127.0.0.4")
    assert attempt(stack, fresh, "alice", "wonderland").status_code == 302


def test_a_neighbour_behind_the_same_address_does_not_lock_alices_own_browser_out(stack):
    """Everyone behind one NAT, proxy or IPv6 /64 shares an address count: a neighbour guessing names until it is full
    refuses strangers there, but alice's own browser (its device cookie) is counted on its own."""
    alice = Browser(stack, source="127.0.0.77")
    assert alice.sign_in(stack.infusion + "/").status_code == 200
    assert alice.sign_out().status_code == 200
    neighbour = Browser(stack, source="127.0.0.77")
    statuses = [attempt(stack, neighbour, f"nobody-{i}", "guess").status_code for i in range(22)]
    assert statuses[-1] == 429, statuses  # login.max_address_failures (20) judged, then refused unseen
    r = attempt(stack, alice, "alice", "wonderland")
    assert r.status_code == 302, (r.status_code, r.text[:300])


def test_parallel_guesses_cannot_overshoot_the_limit(stack):
    user = "parallel-target"
    browsers = [Browser(stack, source="127.0.0.5") for _ in range(16)]
    forms = [b.follow(stack.accounts + "/login")[0] for b in browsers]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: browsers[i].submit_login(forms[i], user, f"guess-{i}").status_code, range(16)))
    assert statuses.count(200) <= 5, statuses  # login.max_failures (5) guesses judged, the rest refused unseen
    assert statuses.count(429) >= 11, statuses


@pytest.fixture(scope="module", params=SERVERS)
def bcrypt_stack(request, tmp_root):
    """A users file whose hashes are bcrypt cost 11, far costlier than a default yescrypt decoy."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    s = make_stack(tmp_root, request.param)
    s.hash_password = lambda password: crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 11))
    s.start()
    yield s
    s.stop()


def timed(stack, username):
    b = Browser(stack, source="127.0.0.6")
    form, _ = b.follow(stack.accounts + "/login")
    started = time.perf_counter()
    r = b.submit_login(form, username, "not-the-password")
    elapsed = time.perf_counter() - started
    assert r.status_code in (200, 429)
    return elapsed if r.status_code == 200 else None


def test_an_unknown_user_costs_what_a_known_one_costs(bcrypt_stack):
    known, unknown = [], []
    for i in range(4):  # below every limit: 4 failures per user name and address pair
        known.append(timed(bcrypt_stack, "alice"))
        unknown.append(timed(bcrypt_stack, f"nobody-{i}"))
    known = [t for t in known if t is not None]
    unknown = [t for t in unknown if t is not None]
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, (known, unknown)
