"""What the cluster test sends and reads, always from inside the cluster's client namespace (scripts/cluster.py): users
that sign in through one app host or the other, a bounded background load that records every answer with its time,
memcached's own key dumps, and the placement of copies as ReplicatedStore computes it."""
import base64
import json
import random
import re
import socket
import threading
import time
from urllib.parse import unquote, urljoin

import requests
import urllib3.util.connection as urllib3_connection

import cluster as cl
import netns
from helpers import form_fields

ACCOUNTS = f"https://accounts.iqueue.test:{cl.HTTPS_PORT}"
INFUSION = f"https://infusion.iqueue.test:{cl.HTTPS_PORT}"
DEXTOR = f"https://dextor.leantaas.test:{cl.HTTPS_PORT}"
APP_NAMES = ("infusion.iqueue.test", "dextor.leantaas.test")

# Names resolve per thread: each User's requests go to its own app host, as a load balancer would send them.
_route = threading.local()
_previous_create_connection = urllib3_connection.create_connection


def _routed_create_connection(address, *args, **kwargs):
    host, port = address
    table = getattr(_route, "table", None)
    if table and host in table:
        host = table[host]
    elif host.endswith(".test"):
        raise OSError(f"{host}: no route set for this thread (cluster traffic only from a User)")
    return _previous_create_connection((host, port), *args, **kwargs)


urllib3_connection.create_connection = _routed_create_connection


class User:
    """One browser, pinned to one app host for infusion and dextor; the accounts host is the accounts namespace."""

    def __init__(self, ca, app, user_agent="sso-cluster-test/1.0"):
        self.app = app
        self.table = {"accounts.iqueue.test": cl.address("accounts"), **{n: cl.address(app) for n in APP_NAMES}}
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(ca)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "text/html"

    def request(self, method, url, **kw):
        _route.table = self.table
        try:
            return self.session.request(method, url, allow_redirects=False, timeout=15, **kw)
        finally:
            _route.table = None

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def follow(self, url, limit=12):
        r = self.get(url)
        while r.status_code in (301, 302, 303) and limit:
            url = urljoin(url, r.headers["Location"])
            r = self.get(url)
            limit -= 1
        return r

    def sign_in(self, target=INFUSION + "/", username="alice", password="wonderland"):
        """The whole first-access chain; the final answer from the app."""
        form = self.follow(target)
        if 'name="password"' not in form.text:
            raise AssertionError(f"no sign-in form: {form.status_code}")
        fields = form_fields(form.text)
        fields.update(username=username, password=password)
        r = self.request("POST", ACCOUNTS + "/login", data=fields)
        if r.status_code != 302:
            raise AssertionError(f"login answered {r.status_code}")
        return self.follow(urljoin(ACCOUNTS, r.headers["Location"]))

    def log_out(self):
        r = self.get(ACCOUNTS + "/logout")
        if r.status_code == 200 and 'action="/logout"' in r.text:
            r = self.request("POST", ACCOUNTS + "/logout", data=form_fields(r.text))
        return r.status_code

    def cookie(self, host):
        for c in self.session.cookies:
            if c.domain.lstrip(".") == host and c.name == "__Host-sso":
                return c.value
        return None

    def token_id(self):
        """The session's TokenID (jti), read from the JWT payload."""
        payload = self.cookie("infusion.iqueue.test").split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def signed_in(response):
    return response.status_code == 200 and response.headers.get("Content-Type", "").startswith("application/json") \
        and response.json()["headers"].get("x-remote-user") == "alice"


class Load:
    """A bounded background load from the client namespace: `checkers` threads, each a request at most every `pause`
    seconds, on random signed-in users; one thread that signs a new user in and hops to dextor; one that presents
    cookies that must never get in. Every answer is recorded as (time, kind, ok, detail)."""

    def __init__(self, ca, users, checkers=4, pause=0.02):
        self.ca = ca
        self.users = users
        self.checkers = checkers
        self.pause = pause
        self.records = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.refused = []  # (user, host) pairs whose cookie must never get in: forged ones, logged-out sessions
        self.pool = None

    def record(self, kind, ok, detail="", seconds=0.0):
        with self.lock:
            self.records.append((time.monotonic(), kind, ok, detail, seconds))

    def start(self):
        self.pool = netns.executor(cl.namespace("client"), self.checkers + 2)
        for n in range(self.checkers):
            self.pool.submit(self.checker, n)
        self.pool.submit(self.signer)
        self.pool.submit(self.intruder)
        return self

    def stop(self):
        self.stopping.set()
        self.pool.shutdown(wait=True)

    def checker(self, n):
        rng = random.Random(n)
        while not self.stopping.is_set():
            user = rng.choice(self.users)
            app = rng.choice((INFUSION, DEXTOR))
            try:
                started = time.monotonic()
                r = user.get(app + f"/load/{n}")
                self.record("check", signed_in(r), f"{r.status_code} {user.app}", time.monotonic() - started)
            except requests.RequestException as error:
                self.record("check", False, type(error).__name__)
            time.sleep(self.pause)

    def signer(self):
        while not self.stopping.is_set():
            fresh = User(self.ca, random.choice(cl.APPS))
            try:
                ok = signed_in(fresh.sign_in(INFUSION + "/signin"))
                self.record("sign-in", ok)
                if ok:
                    self.record("sso-hop", signed_in(fresh.follow(DEXTOR + "/hop")))
            except (requests.RequestException, AssertionError) as error:
                self.record("sign-in", False, str(error)[:80])
            time.sleep(0.2)

    def intruder(self):
        while not self.stopping.is_set():
            with self.lock:
                refused = list(self.refused)
            for user, url in refused[:40]:
                try:
                    r = user.get(url)
                    self.record("intruder", r.status_code != 200 or not signed_in(r), f"{r.status_code} {url}")
                except requests.RequestException:
                    self.record("intruder", True, "no answer")
            time.sleep(0.05)

    def slowest(self, start, end, kind):
        """The longest a request of `kind` took between two times, in seconds."""
        return max((r[4] for r in self.records if start <= r[0] < end and r[1] == kind), default=0.0)

    def summary(self, start, end, kind):
        """(requests, failures, longest stretch in seconds from a failure to the next success) between two times."""
        rows = [r for r in self.records if start <= r[0] < end and r[1] == kind]
        failures = [r for r in rows if not r[2]]
        longest, first_failure = 0.0, None
        for t, _, ok, _, _ in rows:
            if not ok and first_failure is None:
                first_failure = t
            elif ok and first_failure is not None:
                longest = max(longest, t - first_failure)
                first_failure = None
        if first_failure is not None:
            longest = max(longest, end - first_failure)
        return len(rows), len(failures), longest, [r[3] for r in failures[:5]]


def forged(token):
    """The token with its signature changed: any app host must refuse it."""
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return ".".join((head, payload, flipped))


def memcached_keys(node):
    """Every key memcached `node` holds (lru_crawler metadump), asked from the client namespace."""
    def dump():
        with socket.create_connection((cl.address(node), cl.MEMCACHED_PORT), timeout=10) as s:
            s.sendall(b"lru_crawler metadump all\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
        return {unquote(m.group(1).decode()) for m in re.finditer(rb"key=(\S+)", data)}
    return netns.run_in(cl.namespace("client"), dump)


def fenced(node, prefix="sso:"):
    """Whether any other memcached still holds a fence record for `node` (it missed a write and is not yet cleaned)."""
    key = f"{prefix}~fence:{cl.address(node)}:{cl.MEMCACHED_PORT}".encode()

    def ask(holder):
        try:
            with socket.create_connection((cl.address(holder), cl.MEMCACHED_PORT), timeout=2) as s:
                s.sendall(b"get " + key + b"\r\n")
                data = b""
                while not data.endswith(b"END\r\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            return b"\r\nfenced\r\n" in data
        except OSError:
            return False
    return any(netns.run_in(cl.namespace("client"), ask, h) for h in cl.MEMCACHED if h != node)


def score(server, key):
    """Placement.score in Sources/SSOStore/Placement.swift: FNV-1a, then splitmix64's finaliser."""
    mask = (1 << 64) - 1
    h = 0xcbf29ce484222325
    for b in server.encode():
        h = ((h ^ b) * 0x100000001b3) & mask
    h = ((h ^ 0xff) * 0x100000001b3) & mask
    for b in key.encode():
        h = ((h ^ b) * 0x100000001b3) & mask
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & mask
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & mask
    return h ^ (h >> 31)


def copies(key, replicas=1):
    """The memcached hosts that hold `key`, as ReplicatedStore places it."""
    servers = [f"{cl.address(m)}:{cl.MEMCACHED_PORT}" for m in cl.MEMCACHED]
    ranked = sorted(range(len(servers)), key=lambda i: (-score(servers[i], key), i))
    return [cl.MEMCACHED[i] for i in ranked[:replicas + 1]]
