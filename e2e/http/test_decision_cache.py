"""The opt-in decision cache (decision_cache.seconds; docs/nginx.md): nginx answers /_sso/auth from a 200 it kept for
a few seconds. nginx only (Apache has no such cache). What it must never do: hand one user's identity to another, keep a
401/403/503, outlive a session's idle or absolute end, or take a kept submission's or a requestID's request away from
the check; and a sign-out takes effect on every host within the cache time."""
import os
import pwd
import re
import signal
import time
import uuid

import pytest
import requests

from ssostack import ROOT, WEB_USER
from helpers import SERVERS, Browser, make_stack, refused_within

pytestmark = pytest.mark.skipif("nginx" not in SERVERS, reason="the decision cache is nginx's (SSO_SERVERS has no nginx)")

SECONDS = 5
LOG_FORMAT = re.compile(r"^#(log_format sso_noquery_cache .*?;)$", re.S | re.M)


def cache_stack(tmp_root, **overrides):
    """An nginx stack with the decision cache on (5 s), its folder beside the sockets (nginx's workers reach it there),
    and an access log with the format sso-log.conf offers, so each line says HIT, MISS or BYPASS."""
    s = make_stack(tmp_root, "nginx", log_level="info", **overrides)
    s.cache_dir = s.run_dir / "auth-cache"
    s.cache_log = s.log_path("nginx-cache")
    offered = "\n".join(line.lstrip("#") for line in LOG_FORMAT.search((ROOT / "nginx" / "sso-log.conf").read_text()).group(1).splitlines())
    log_line = f"access_log {s.cache_log} sso_noquery_cache;"
    s.overrides.setdefault("config", {}).update({"decision_cache.seconds": SECONDS, "decision_cache.path": str(s.cache_dir)})
    s.overrides["site"] = {"nginx": {"infusion.iqueue.test": log_line, "dextor.leantaas.test": log_line}}
    extend = s.extend_site
    s.extend_site = lambda site: offered + "\n" + extend(site)  # a log format must come before the servers using it
    return s


@pytest.fixture(scope="module")
def dstack(tmp_root):
    s = cache_stack(tmp_root, last_access_interval=0)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def idle_stack(tmp_root):
    """Idle timeout 3 s on both services (shorter than the 5 s cache), LAST_ACCESSED_TIME written on every check."""
    s = cache_stack(tmp_root, idle={"infusion": 3, "dextor": 3}, last_access_interval=0)
    s.start()
    yield s
    s.stop()


def checks(stack):
    """How many checks AppAuthFCGI has made (every result), from its /_sso/metrics."""
    r = Browser(stack).get(stack.infusion + "/_sso/metrics")
    assert r.status_code == 200
    return sum(float(m.group(1)) for m in re.finditer(r'^sso_checks_total\{[^}]*\} (\S+)$', r.text, re.M))


def statuses(stack, path, count=0):
    """The cache status of each logged request for `path` (its access-log lines), in order. nginx writes a line only
    after the response has gone out, so a test that has just read the answer waits (at most 5 s) for `count` lines."""
    deadline = time.time() + 5
    while True:
        text = stack.cache_log.read_text() if stack.cache_log.exists() else ""
        found = [line.rsplit(" ", 1)[1] for line in text.splitlines() if f" {path} " in line]
        if len(found) >= count or time.time() > deadline:
            return found
        time.sleep(0.05)


def echo_user(r):
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.headers["X-Echo-Remote-User"]


def test_a_hit_does_not_reach_appauth_and_still_names_the_user(dstack):
    b = Browser(dstack)
    assert b.sign_in(dstack.infusion + "/").status_code == 200
    signed_in = time.time()  # the sign-in's last request left an entry for this browser just before
    assert echo_user(b.get(dstack.infusion + "/warm")) == "alice"
    before = checks(dstack)
    started = time.time()
    for i in range(10):
        r = b.get(dstack.infusion + "/hit")
        assert r.json()["headers"]["x-remote-user"] == "alice" and r.json()["headers"]["x-remote-email"] == "alice@iqueue.test"
    elapsed = time.time() - started
    moved = checks(dstack) - before
    print(f"\n10 requests in {elapsed:.2f} s: {moved:.0f} reached AppAuthFCGI; log: {statuses(dstack, '/hit')}")
    # The entry lives at least 5 s: within that, none of the 10 is checked (one if a slow machine straddles its end).
    late = time.time() - signed_in >= SECONDS - 0.2
    assert moved <= (1 if late else 0)
    assert statuses(dstack, "/hit", 10).count("HIT") >= (9 if late else 10)


def test_two_users_on_one_host_never_see_each_other(dstack):
    """Same host, same User-Agent, interleaved GET/HEAD/POST: only the Cookie header tells them apart, and it is in
    the key whole."""
    alice, bob = Browser(dstack), Browser(dstack)
    assert alice.sign_in(dstack.infusion + "/", "alice", "wonderland").status_code == 200
    assert bob.sign_in(dstack.infusion + "/", "bob", "builder").status_code == 200
    post_headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": dstack.infusion,
                    "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
    seen = []
    for i in range(48):
        b, who = (alice, "alice") if i % 2 == 0 else (bob, "bob")
        kind = i % 6
        if kind in (2, 3):
            r = b.session.head(dstack.infusion + f"/mixed/{i}", allow_redirects=False, timeout=10)
        elif kind in (4, 5):
            r = b.post(dstack.infusion + f"/mixed/{i}", data={"n": str(i)}, headers=post_headers)
            assert r.json()["body"] == f"n={i}" and r.json()["method"] == "POST"
        else:
            r = b.get(dstack.infusion + f"/mixed/{i}")
        seen.append(echo_user(r))
        assert seen[-1] == who, (i, who, seen)
    hits = sum(s == "HIT" for i in range(48) for s in statuses(dstack, f"/mixed/{i}", 1))
    print(f"\n48 interleaved requests, {hits} answered from the cache")
    assert hits >= 20  # the cache was really in use: most answers came from it


def test_sign_out_takes_effect_on_every_host_within_the_cache_time(dstack):
    b = Browser(dstack)
    assert b.sign_in(dstack.infusion + "/").status_code == 200
    final, _ = b.follow(dstack.dextor + "/")
    assert final.status_code == 200
    # Both hosts hold a fresh entry for this browser just before it signs out.
    assert echo_user(b.get(dstack.infusion + "/a")) == "alice" and echo_user(b.get(dstack.dextor + "/a")) == "alice"
    assert b.sign_out().status_code == 200
    signed_out = time.time()
    took = {}
    api = {"Accept": "application/json"}
    pending = {dstack.infusion, dstack.dextor}
    while pending and time.time() < signed_out + SECONDS + 4:
        for origin in list(pending):
            r = b.get(origin + "/after")
            if r.status_code == 302:
                took[origin] = time.time() - signed_out
                pending.discard(origin)
                assert "/noCookie?" in r.headers["Location"]
                assert b.get(origin + "/api", headers=api).status_code == 401
            else:
                assert echo_user(r) == "alice"
        time.sleep(0.1)
    print("\nrefused after sign-out: " + ", ".join(f"{o.split('//')[1].split(':')[0]} {t:.2f} s" for o, t in took.items()))
    assert not pending, f"still let through {SECONDS + 4} s after sign-out: {pending}"
    # An entry lives `seconds` and through nginx's last second of it: at most seconds + 1, plus the time to ask (a
    # margin for this shared machine; an entry kept longer than that fails).
    assert max(took.values()) <= SECONDS + 2.5


def test_idle_expiry_is_exact_though_the_entry_could_live_longer(idle_stack):
    """Idle 3 s, cache 5 s: X-Accel-Expires is cut to the idle deadline, so a request after 3 s idle is refused at
    once, not answered from the entry the sign-in's last request left, which would otherwise live 5 s."""
    b = Browser(idle_stack)
    assert b.sign_in(idle_stack.infusion + "/").status_code == 200
    last = time.time()  # the session's last use is no later than this
    assert echo_user(b.get(idle_stack.infusion + "/soon")) == "alice"
    time.sleep(max(0.0, last + 3.3 - time.time()))
    r = b.get(idle_stack.infusion + "/after-idle")
    print(f"\nfirst request {time.time() - last:.2f} s after the last use: {r.status_code}, "
          f"log /soon {statuses(idle_stack, '/soon')} /after-idle {statuses(idle_stack, '/after-idle')}")
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]


def test_a_store_outage_is_never_kept(dstack):
    """memcached stopped (SIGSTOP: its sessions stay): the 503 page; started again: the very same request passes at
    once, not after a cache time."""
    b = Browser(dstack)
    assert b.sign_in(dstack.infusion + "/").status_code == 200
    # Another app cookie makes another key: this request has no entry yet, so the outage meets a real check.
    b.session.cookies.set("theme", "dark", domain="infusion.iqueue.test")
    memcached = dstack.procs["memcached"].pid
    os.kill(memcached, signal.SIGSTOP)
    try:
        r = b.get(dstack.infusion + "/outage")
        assert r.status_code == 503, r.status_code
    finally:
        os.kill(memcached, signal.SIGCONT)
    back = time.time()
    while True:
        r = b.get(dstack.infusion + "/outage")
        if r.status_code == 200 or time.time() > back + SECONDS:
            break
        time.sleep(0.1)
    took = time.time() - back
    print(f"\nafter memcached came back: {r.status_code} in {took:.2f} s")
    assert echo_user(r) == "alice"
    # memcached.retry_timeout (1 s) may keep the server out a moment; a kept 401 would hold for the whole 5 s.
    assert took < 2.5


def test_a_kept_submission_is_replayed_not_answered_from_the_cache(dstack):
    """The browser comes back from sign-in with its new session cookie and the replay cookie; a 200 kept for that very
    Cookie header (an asset loaded first) must not answer the request the kept submission waits for."""
    b = Browser(dstack)
    assert b.sign_in(dstack.infusion + "/forms/new").status_code == 200
    assert b.sign_out().status_code == 200
    assert refused_within(b, dstack.infusion + "/forms/new", SECONDS + 3)
    form_url = dstack.infusion + "/forms/submit?draft=9"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": dstack.infusion, "Sec-Fetch-Site": "same-origin",
               "Sec-Fetch-Mode": "navigate", "Referer": dstack.infusion + "/forms/new"}
    form, hops = b.navigate("POST", form_url, b"title=kept", headers)
    assert form.status_code == 200 and 'name="password"' in form.text, hops
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is not None
    r = b.submit_login(form, "alice", "wonderland")
    url = requests.compat.urljoin(dstack.accounts, r.headers["Location"])
    # Follow the hops until the browser holds its new infusion cookie and is sent to the form's URL.
    for _ in range(6):
        r = b.get(url)
        assert r.status_code in (302, 303), (url, r.status_code)
        url = requests.compat.urljoin(url, r.headers["Location"])
        if url == form_url:
            break
    assert url == form_url
    # An asset first, with exactly the cookies the next request carries: it passes (200), and must not be kept.
    assert echo_user(b.get(dstack.infusion + "/app.css")) == "alice"
    final, hops = b.navigate("GET", form_url)
    echo = final.json()
    assert echo["method"] == "POST" and echo["body"] == "title=kept", (echo["method"], echo["uri"], hops)
    assert "BYPASS" in statuses(dstack, "/app.css", 1)


def test_a_request_id_still_goes_to_sign_in(dstack):
    """A first visit to dextor after signing in at infusion is handed over (the hand-off works with the cache on); and
    a requestID in the URL of a browser that has an entry goes to the sign-in path, never to the app."""
    b = Browser(dstack)
    assert b.sign_in(dstack.infusion + "/").status_code == 200
    final, hops = b.follow(dstack.dextor + "/first")
    assert final.status_code == 200 and any("requestID=" in h for h in hops), hops
    assert final.json()["headers"]["x-remote-user"] == "alice" and "requestID" not in final.json()["uri"]
    assert echo_user(b.get(dstack.infusion + "/kept")) == "alice"
    r = b.get(dstack.infusion + f"/kept?a=1&requestID={uuid.uuid4()}")
    assert not (r.status_code == 200 and "uri" in r.text), (r.status_code, r.text[:200])
    # Any spelling is skipped (a false skip costs only a miss); the check itself takes only `requestID` as one.
    assert echo_user(b.get(dstack.infusion + f"/kept?RequestId={uuid.uuid4()}")) == "alice"
    assert statuses(dstack, "/kept", 3)[1:] == ["BYPASS", "BYPASS"], statuses(dstack, "/kept")


def session_header(browser, host):
    """The Cookie header of `browser`'s session on `host`, alone: sent explicitly, so another client can send the very
    same bytes (the cache key holds the whole header)."""
    return {"Cookie": f"__Host-sso={browser.cookie(host).value}"}


def test_a_stolen_cookie_from_another_browser_is_not_answered_from_the_cache(dstack):
    """The session is bound to the browser that signed in (FINGERPRINT, from its User-Agent): a cookie replayed from
    another client is refused by the check. A 200 kept for the victim's Cookie header must not answer the thief's
    request, so the key holds the User-Agent too."""
    alice = Browser(dstack)
    assert alice.sign_in(dstack.infusion + "/").status_code == 200
    cookie = session_header(alice, "infusion.iqueue.test")
    assert echo_user(alice.get(dstack.infusion + "/ua-warm", headers=cookie)) == "alice"
    assert echo_user(alice.get(dstack.infusion + "/ua-warm", headers=cookie)) == "alice"
    assert statuses(dstack, "/ua-warm", 2)[-1] == "HIT", statuses(dstack, "/ua-warm")
    thief = Browser(dstack, user_agent="curl/8.0 (stolen cookie)")
    r = thief.get(dstack.infusion + "/ua-stolen", headers=cookie)
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"], (r.status_code, r.text[:200])


def test_one_hosts_kept_decision_never_answers_another_host(dstack):
    """bob is registered for infusion only. His infusion Cookie header sent to dextor (same User-Agent) must be checked
    for dextor and refused, not answered from the entry infusion's check left: the key holds the server's origin."""
    bob = Browser(dstack)
    assert bob.sign_in(dstack.infusion + "/", "bob", "builder").status_code == 200
    cookie = session_header(bob, "infusion.iqueue.test")
    assert echo_user(bob.get(dstack.infusion + "/host-warm", headers=cookie)) == "bob"
    assert echo_user(bob.get(dstack.infusion + "/host-warm", headers=cookie)) == "bob"
    assert statuses(dstack, "/host-warm", 2)[-1] == "HIT", statuses(dstack, "/host-warm")
    r = Browser(dstack).get(dstack.dextor + "/host-other", headers=cookie)
    assert not (r.status_code == 200 and "uri" in r.text), (r.status_code, r.text[:200])
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"], r.status_code


def test_an_expired_entry_is_never_served_while_appauth_is_down(dstack):
    """Fail closed: once an entry's X-Accel-Expires has passed, the check must be asked again. With AppAuthFCGI
    stopped the request fails; nginx must not serve the expired 200 instead (fastcgi_cache_use_stale off), which would
    let a session that ended, or a user removed, in for as long as AppAuthFCGI stays down."""
    b = Browser(dstack)
    assert b.sign_in(dstack.infusion + "/").status_code == 200
    cookie = session_header(b, "infusion.iqueue.test")
    assert echo_user(b.get(dstack.infusion + "/stale-warm", headers=cookie)) == "alice"
    stored = time.time()
    dstack.terminate("appauth")
    try:
        # Past the entry's lifetime (at most SECONDS), well within nginx's `inactive` (SECONDS + 5), so it is still there.
        time.sleep(max(0.0, stored + SECONDS + 1 - time.time()))
        r = b.get(dstack.infusion + "/stale", headers=cookie)
        print(f"\nexpired entry, AppAuthFCGI down: {r.status_code}; log {statuses(dstack, '/stale', 1)}")
        assert r.status_code != 200 and "uri" not in r.text, (r.status_code, r.text[:200])
    finally:
        dstack.start_fcgi(["appauth"])
    assert echo_user(b.get(dstack.infusion + "/stale-back", headers=cookie)) == "alice"


def test_the_cache_holds_only_200s_in_a_private_folder(dstack):
    """Runs last in this module: every entry the tests above left is a 200 (the FastCGI stream's Status line), and the
    folder and files are nginx's user's alone (each holds a session cookie in its key)."""
    files = [os.path.join(d, f) for d, _, fs in os.walk(dstack.cache_dir) for f in fs]
    assert files, "no entry was written"
    found = {}
    for path in files:
        data = open(path, "rb").read()
        codes = re.findall(rb"Status: (\d{3})", data)
        assert codes, path
        for code in codes:
            found[code] = found.get(code, 0) + 1
        assert (os.stat(path).st_mode & 0o077) == 0, oct(os.stat(path).st_mode)
        if os.geteuid() == 0:  # nginx's workers run as www-data, and the files are theirs
            assert os.stat(path).st_uid == pwd.getpwnam(WEB_USER).pw_uid
    print(f"\n{len(files)} entries; Status lines: {found}; folder mode {oct(os.stat(dstack.cache_dir).st_mode & 0o777)}")
    assert set(found) == {b"200"}, found
    for d, _, _ in os.walk(dstack.cache_dir):
        assert (os.stat(d).st_mode & 0o077) == 0, (d, oct(os.stat(d).st_mode))
