"""/_sso/metrics and /_sso/health through nginx and Apache, on a protected host (AppAuthFCGI, two worker processes) and
on the accounts host (AccountsFCGI): the text parses with a real Prometheus parser (Debian's python3-prometheus-client),
the counters move by exactly the traffic this test sends, the counts are the whole program's (they survive every worker
process being killed), /_sso/metrics is refused to an address outside the allow-list whatever X-Forwarded-For says, and
/_sso/health is 200 while memcached answers and 503 while it is stopped."""
import os
import signal
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from helpers import Browser, program_pids

FORM = "/forms/submit?draft=1"


def scrape(stack, base, source=None):
    """The metrics of the program behind `base`, as {(sample name, sorted labels): value}."""
    r = Browser(stack, source=source).get(base + "/_sso/metrics")
    assert r.status_code == 200, (base, r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples, name, **labels):
    """A sample's value. The parser names a counter's samples NAME_total even where the text says NAME (the latency
    histogram's _bucket, _sum and _count series are counters), so that spelling is accepted too."""
    for spelling in (name, name + "_total"):
        key = (spelling, tuple(sorted(labels.items())))
        if key in samples:
            return samples[key]
    raise AssertionError(f"{name}{labels} missing; have {sorted(k for k in samples if k[0].startswith(name))}")


def moved(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def same_origin(stack):
    return {"Content-Type": "application/x-www-form-urlencoded", "Origin": stack.infusion, "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "navigate", "Referer": stack.infusion + "/forms/new"}


def test_counters_move_with_the_traffic_sent(own_stack):
    stack = own_stack
    app0, acc0 = scrape(stack, stack.infusion), scrape(stack, stack.accounts)

    # 5 checks without a cookie: 5 no_cookie checks, then the sign-in path sends each to accounts.
    for i in range(5):
        r = Browser(stack).get(stack.infusion + f"/anon/{i}")
        assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]
    # A wrong password, then 2 good sign-ins (each: sign-in ok, hand-off issued by accounts, redeemed by the app).
    b = Browser(stack)
    form, _ = b.follow(stack.infusion + "/")
    assert b.submit_login(form, "alice", "not-her-password").status_code == 200
    assert b.sign_in(stack.infusion + "/").status_code == 200
    # 3 checks with a valid session.
    for i in range(3):
        assert b.get(stack.infusion + f"/in/{i}").status_code == 200
    # A kept POST: signed in, signed out at accounts (the app's cookie stays, its session is gone), then the form is sent,
    # kept, and delivered after the second sign-in.
    assert b.sign_out().status_code == 200
    form, _ = b.navigate("POST", stack.infusion + FORM, b"note=kept", same_origin(stack))
    assert 'name="password"' in form.text
    r = b.submit_login(form, "alice", "wonderland")
    assert r.status_code == 302
    final, _ = b.navigate("GET", requests.compat.urljoin(stack.accounts, r.headers["Location"]))
    assert final.status_code == 200 and final.json()["method"] == "POST", final.text[:300]
    # A hand-off refused: an unknown requestID.
    assert b.get(stack.dextor + "/?requestID=00000000-0000-4000-8000-000000000000").status_code in (302, 303)

    app1, acc1 = scrape(stack, stack.infusion), scrape(stack, stack.accounts)
    assert moved(acc0, acc1, "sso_signins_total", result="bad_password") == 1
    assert moved(acc0, acc1, "sso_signins_total", result="ok") == 2
    assert moved(acc0, acc1, "sso_signins_total", result="throttled") == 0
    assert moved(acc0, acc1, "sso_handoffs_total", event="issued") == 2
    assert moved(app0, app1, "sso_handoffs_total", event="redeemed") == 2
    assert moved(app0, app1, "sso_handoffs_total", event="refused") == 1
    assert moved(app0, app1, "sso_kept_submissions_total", event="kept") == 1
    assert moved(app0, app1, "sso_kept_submissions_total", event="delivered") == 1
    # no_cookie: the 5 anonymous requests and the browser's 2 visits before its first sign-in (wrong password, then
    # right); valid: 3 plus the request each redemption redirected back to (2). A requestID in the URL goes to the
    # sign-in path without a check.
    assert moved(app0, app1, "sso_checks_total", result="no_cookie") == 7
    assert moved(app0, app1, "sso_checks_total", result="valid") == 5
    # The POST after sign-out found the session gone.
    assert moved(app0, app1, "sso_checks_total", result="no_session") == 1
    checks = sum(moved(app0, app1, "sso_checks_total", result=r) for r in (
        "valid", "no_cookie", "bad_token", "not_registered", "no_session", "wrong_user", "expired_idle", "expired_absolute",
        "fingerprint_mismatch", "store_unavailable"))
    assert moved(app0, app1, "sso_check_duration_seconds_count") == checks
    assert moved(app0, app1, "sso_check_duration_seconds_bucket", le="+Inf") == checks
    assert 0 < moved(app0, app1, "sso_check_duration_seconds_sum") < checks * 1.0
    assert value(app1, "sso_workers_busy") >= 1  # the scrape itself is being answered
    assert value(app1, "sso_store_up") == 1 and value(acc1, "sso_store_up") == 1

    # The counts are the program's, not a worker's: every worker process of AppAuthFCGI is killed and replaced, and
    # the next scrape (answered by a new process) still has them all.
    supervisor, *workers = program_pids(stack, "appauth")
    assert len(workers) == 2, workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 15
    while time.time() < deadline:
        now = program_pids(stack, "appauth")[1:]
        if len(now) == 2 and not set(now) & set(workers):
            try:
                app2 = scrape(stack, stack.infusion)
                break
            except (AssertionError, requests.RequestException):
                pass
        time.sleep(0.2)
    else:
        raise AssertionError("the worker processes were not replaced")
    for name, labels in (("sso_checks_total", {"result": "no_cookie"}), ("sso_checks_total", {"result": "valid"}),
                         ("sso_handoffs_total", {"event": "redeemed"}), ("sso_kept_submissions_total", {"event": "kept"})):
        assert value(app2, name, **labels) >= value(app1, name, **labels), (name, labels)
    assert value(app2, "sso_check_duration_seconds_count") >= value(app1, "sso_check_duration_seconds_count")


def test_metrics_are_refused_outside_the_allow_list_whatever_forwarded_headers_say(own_stack):
    stack = own_stack
    spoof = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    for base in (stack.infusion, stack.dextor, stack.accounts):
        outsider = Browser(stack, source="127.0.0.2")
        r = outsider.get(base + "/_sso/metrics", headers=spoof)
        assert r.status_code == 403, (base, r.status_code)
        assert "sso_checks_total" not in r.text and "sso_signins_total" not in r.text
        # The health location stays open: load balancers ask from anywhere.
        assert outsider.get(base + "/_sso/health").status_code == 200
        # Allowed from 127.0.0.1 (and only the exact path).
        assert Browser(stack).get(base + "/_sso/metrics").status_code == 200


def test_no_other_spelling_of_the_metrics_path_answers_metrics_outside_the_allow_list(own_stack):
    """The allow-list guards the exact path (nginx `location = /_sso/metrics`, Apache `<Location "/_sso/metrics">`);
    every other path goes on as any page does: to AccountsFCGI on the accounts host (nginx `location /`), to
    AppAuthFCGI behind Apache (`ProxyPass "/_sso/metrics"` is a prefix: /_sso/metricsx too). So the programs must answer
    metrics at exactly /_sso/metrics and nowhere else, or a signed-in user (or anyone, on accounts) reads them from
    anywhere."""
    stack = own_stack
    outsider = Browser(stack, source="127.0.0.2")
    assert outsider.sign_in(stack.infusion + "/").status_code == 200
    for base in (stack.accounts, stack.infusion):
        for path in ("/_sso/metricsx", "/_sso/metrics.txt", "/_sso/metrics-all"):
            r = outsider.get(base + path)
            assert "sso_checks_total" not in r.text and "sso_signins_total" not in r.text, (base, path, r.status_code)

def test_health_follows_memcached(own_stack):
    stack = own_stack
    bases = (stack.infusion, stack.accounts)
    b = Browser(stack)
    for base in bases:
        r = b.get(base + "/_sso/health")
        assert r.status_code == 200 and r.text == "ok\n", (base, r.status_code, r.text)
    signed = Browser(stack)
    assert signed.sign_in(stack.infusion + "/").status_code == 200
    before = scrape(stack, stack.infusion)
    server = next(dict(k[1])["server"] for k in before if k[0] == "sso_memcached_errors_total")
    stack.stop_memcached()
    try:
        for base in bases:
            r = b.get(base + "/_sso/health")
            assert r.status_code == 503 and "store unavailable" in r.text, (base, r.status_code, r.text)
        during = scrape(stack, stack.infusion)
        assert value(during, "sso_store_up") == 0
        assert moved(before, during, "sso_memcached_errors_total", server=server) >= 1
        # A check that meets the outage counts as store_unavailable (and the user gets the 503 page).
        assert signed.get(stack.infusion + "/during").status_code == 503
        after = scrape(stack, stack.infusion)
        assert moved(before, after, "sso_checks_total", result="store_unavailable") >= 1
    finally:
        stack.start_memcached()
    deadline = time.time() + 15
    for base in bases:
        while True:
            status = b.get(base + "/_sso/health").status_code
            if status == 200 or time.time() > deadline:
                break
            time.sleep(0.3)
        assert status == 200, base
