"""memcached stops answering and comes back with its data (SIGSTOP, SIGCONT) while signed-in users keep working: each of
their requests gets its page, or the 503 page while the store cannot be read; never a sign-in (a 302 to accounts, or a
401 for an API call). Before, a check on a worker whose connection had not come back yet answered 401 while the
sign-in path, on a worker that had, found the session valid and sent the user to sign in anyway. The log meanwhile
gets a line when the store goes and one when it is back, per worker process, not lines per request."""
import os
import signal
import threading
import time

import requests

from helpers import Browser


def test_a_valid_session_is_never_sent_to_sign_in_while_memcached_recovers(own_stack):
    b = Browser(own_stack)
    assert b.sign_in(own_stack.infusion + "/").status_code == 200
    token = b.cookie("infusion.iqueue.test").value
    agent = b.session.headers["User-Agent"]
    results = []
    running = True

    def load(api):
        s = requests.Session()
        s.trust_env = False
        s.verify = str(own_stack.ca)
        s.headers.update({"User-Agent": agent, "Cookie": f"__Host-sso={token}",
                          "Accept": "application/json" if api else "text/html,application/xhtml+xml"})
        i = 0
        while running:
            try:
                r = s.get(own_stack.infusion + f"/work/{i}", allow_redirects=False, timeout=15)
                results.append((r.status_code, r.headers.get("Location", ""), time.time()))
            except requests.RequestException as error:
                results.append((type(error).__name__, "", time.time()))
            i += 1

    threads = [threading.Thread(target=load, args=(n % 2 == 1,), daemon=True) for n in range(6)]
    log = own_stack.log_path("appauth")
    log_start = log.stat().st_size
    memcached = own_stack.procs["memcached"].pid
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            time.sleep(2)
            os.kill(memcached, signal.SIGSTOP)
            time.sleep(2.5)
            os.kill(memcached, signal.SIGCONT)
        time.sleep(4)
    finally:
        os.kill(memcached, signal.SIGCONT)
        running = False
        for t in threads:
            t.join(30)
    statuses = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    wrongful = [r for r in results if r[0] in (302, 303, 401) or (r[0] == 302 and "noCookie" in r[1])]
    print(f"\n[{own_stack.server}] memcached stopped 3 x 2.5 s: {len(results)} requests: {statuses}")
    assert len(results) > 200
    assert wrongful == [], (len(wrongful), statuses)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.get(200, 0) > 100 and statuses.get(503, 0) > 0, statuses
    # Once memcached is back for good, every request is served.
    assert all(r[0] == 200 for r in results if r[2] > results[-1][2] - 1.5), results[-20:]

    lines = log.read_bytes()[log_start:].decode(errors="replace").splitlines()
    store_lines = [line for line in lines if "store" in line]
    processes = own_stack.config["app_auth"]["processes"]
    # Three outages, each at most one line going and one coming back per worker process.
    assert 0 < len(store_lines) <= 3 * 2 * max(1, processes), store_lines[:20]
