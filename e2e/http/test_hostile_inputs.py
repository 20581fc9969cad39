"""A hostile-input run against the real stack: hundreds of generated hostile redirectURLs, malformed and oversized
cookies and JWTs, and oversized, chunked and slow bodies, while legitimate users keep working. Asserted throughout: no
5xx but the documented 503, no process restarted (the same supervisor and worker processes), the memory of each flat,
every legitimate request served. (Malformed FastCGI records sent straight to the programs' sockets are in
test_hostile_records.py.)"""
import base64
import itertools
import json
import random
import socket
import ssl
import threading
import time
from urllib.parse import quote

from helpers import Browser, program_pids, rss_kb

ENDPOINTS = ("/noCookie", "/copyCookie", "/login")


def hostile_redirect_urls(stack):
    """At least 300 distinct hostile values, generated from parts that each break one rule."""
    port = stack.https_port
    good_host = "infusion.iqueue.test"
    schemes = ["https://", "http://", "HTTPS://", "https:/", "https:", "//", "///", "\\\\", "/\\", "ftp://", "javascript:",
               "data:text/html,", " https://", "\thttps://", "https:\\\\", "hTtPs://"]
    hosts = ["evil.example", f"{good_host}.evil.example", f"evil{good_host}", f"{good_host}@evil.example",
             f"user@{good_host}", f"{good_host}%40evil.example", f"{good_host}\\@evil.example", "127.0.0.1", "[::1]",
             f"{good_host.upper()}\u3002evil.example", f"{good_host}\x00", f"{good_host}%00", f"infusion\u2024iqueue.test",
             f"{good_host}.", "xn--nfusion-pya.iqueue.test", "infusion.iqueue.tes", ""]
    ports = [f":{port}", f":{port + 1}", ":443", ":0", ":99999", f":{port}.evil.example", ":", f":{port}@evil.example", ""]
    paths = ["/", "//evil.example/", "/\\evil.example", "/%2F%2Fevil.example", "/\r\nSet-Cookie: x=1", "/\x7f", "/é",
             "?x=1", "#frag", "/../../etc/passwd"]
    values = set()
    rng = random.Random(20261123)
    for scheme, host, p, path in itertools.product(schemes, hosts, ports, paths):
        candidate = scheme + host + p + path
        # Exactly the registered origin with a harmless path is allowed: not hostile, so not in this set.
        if candidate.startswith(f"https://{good_host}:{port}/") and path in ("/", "?x=1", "#frag"):
            continue
        if candidate == f"https://{good_host}:{port}?x=1" or candidate == f"https://{good_host}:{port}#frag":
            continue
        values.add(candidate)
    values = sorted(values)
    rng.shuffle(values)
    picked = values[:320] + ["", "a" * 5000, "https://" + "a" * 300 + ".test/", "%", "%zz", "\u0000", "😀"]
    assert len(set(picked)) >= 300
    return picked


def hostile_tokens(stack, good):
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    out = ["", ".", "..", "...", "a.b", "a.b.c.d", good + "=", good[:-1], good + "x", "%00", "\u00ff" * 10,
           "a" * 7000, "a" * 9000 + ".b.c", header + "." + b64(b"{not json") + "." + signature,
           header + "." + b64(json.dumps(dict(claims, aud="*")).encode()) + "." + signature,
           b64(b'{"alg":"none"}') + "." + payload + ".", b64(b'{"alg":"EdDSA","kid":"' + b"k" * 5000 + b'"}') + "." + payload + "." + signature,
           b64(b'{"alg":"EdDSA","kid":"ed-1","crit":["x"]}') + "." + payload + "." + signature,
           header + "." + b64(json.dumps(dict(claims, exp=2 ** 70)).encode()) + "." + signature,
           header + "." + b64(json.dumps(dict(claims, exp="soon")).encode()) + "." + signature]
    return out


class Legitimate(threading.Thread):
    """A signed-in user working all along; every answer is recorded."""

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.browser = Browser(stack, user_agent="legit-user")
        assert self.browser.sign_in(stack.infusion + "/").status_code == 200
        self.stack = stack
        self.statuses = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.statuses.append(self.browser.get(self.stack.infusion + "/work").status_code)
            except Exception as e:  # a failed request is a finding, not a crash of the test
                self.statuses.append(repr(e))
            time.sleep(0.05)


def slow_body(stack, host, path, seconds=4):
    """A form body sent a few bytes at a time, for `seconds`."""
    context = ssl.create_default_context(cafile=str(stack.ca))
    with socket.create_connection(("127.0.0.1", stack.https_port), timeout=30) as tcp:
        with context.wrap_socket(tcp, server_hostname=host) as tls:
            tls.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}:{stack.https_port}\r\nContent-Length: 100000\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n").encode())
            end = time.time() + seconds
            try:
                while time.time() < end:
                    tls.sendall(b"a=1&")
                    time.sleep(0.2)
            except OSError:
                return None
            tls.settimeout(5)
            try:
                return tls.recv(64)
            except OSError:
                return None


def test_hostile_inputs_leave_the_stack_serving(stack):
    # Supervisors and worker processes: the workers parse the requests; a worker replaced after a crash is a new pid.
    pids = {name: program_pids(stack, name) for name in ("accounts", "appauth")}
    legit = Legitimate(stack)
    token = legit.browser.cookie("infusion.iqueue.test").value
    legit.start()
    rss_before = {pid: rss_kb([pid]) for group in pids.values() for pid in group}
    statuses = []
    attacker = Browser(stack, user_agent="attacker")

    # 1. Hostile redirectURLs at every endpoint that takes one.
    values = hostile_redirect_urls(stack)
    for value in values:
        for endpoint in ENDPOINTS:
            r = attacker.get(stack.accounts + endpoint + "?redirectURL=" + quote(value, safe=""))
            statuses.append(r.status_code)
            assert r.status_code in (200, 400), (endpoint, value, r.status_code)
            assert r.status_code == 200 or "Location" not in r.headers
    # The sign-in POST and the sign-out form take one too.
    form, _ = attacker.follow(stack.accounts + "/login")
    for value in values[:60]:
        r = attacker.post(stack.accounts + "/login", data={"csrf": "x", "redirectURL": value, "username": "a", "password": "b"})
        statuses.append(r.status_code)
        assert r.status_code in (400, 403), (value, r.status_code)

    # 2. Malformed and oversized cookies and tokens, on an app host and on accounts.
    cookies = hostile_tokens(stack, token) + ["=" * 100, ";" * 4000, "a=" + "b" * 20000]
    for value in cookies:
        for host, url in (("infusion.iqueue.test", stack.infusion + "/"), ("accounts.iqueue.test", stack.accounts + "/")):
            raw = Browser(stack, user_agent="attacker")
            r = raw.get(url, headers={"Cookie": f"__Host-sso={value}; __Host-sso_replay={value}; __Host-sso_state={value}"})
            statuses.append(r.status_code)
            assert r.status_code in (200, 302, 400, 431, 494), (host, value[:80], r.status_code)

    # 3. Oversized, chunked and slow bodies, signed out.
    big = b"x=" + b"y" * (20 << 20)
    r = attacker.session.post(stack.infusion + "/upload", data=big, timeout=60, allow_redirects=False,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    statuses.append(r.status_code)
    assert r.status_code in (303, 307, 413), r.status_code
    r = attacker.session.post(stack.accounts + "/login", data=(b"a" * (8 << 20)), timeout=60, allow_redirects=False,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    statuses.append(r.status_code)
    assert r.status_code == 413, r.status_code
    for target in (("infusion.iqueue.test", "/slow"), ("accounts.iqueue.test", "/login")):
        answer = slow_body(stack, *target)
        assert answer is None or not answer.startswith(b"HTTP/1.1 5"), answer

    legit.stop.set()
    legit.join(10)
    assert not [s for s in statuses if isinstance(s, int) and s >= 500 and s != 503]
    assert legit.statuses and all(s == 200 for s in legit.statuses), [s for s in legit.statuses if s != 200][:5]
    assert {name: program_pids(stack, name) for name in pids} == pids
    assert all(stack.procs[name].poll() is None for name in pids)
    for pid, before in rss_before.items():
        assert rss_kb([pid]) < before * 1.5 + 8192, (pid, before, rss_kb([pid]))
