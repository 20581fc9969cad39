"""Fixtures for the end-to-end suite: real nginx (and Apache), memcached and both FastCGI programs on loopback."""
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest
import requests
import urllib3.util.connection as urllib3_connection

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ssostack import Stack  # noqa: E402

# Every *.test name resolves to 127.0.0.1 for this process only (what curl --resolve does); nothing leaves loopback.
_create_connection = urllib3_connection.create_connection


def _loopback_create_connection(address, *args, **kwargs):
    host, port = address
    if host.endswith(".test"):
        host = "127.0.0.1"
    return _create_connection((host, port), *args, **kwargs)


urllib3_connection.create_connection = _loopback_create_connection

BIN = Path(os.environ.get("SSO_BIN", ROOT / ".build" / "debug"))
SERVERS = [s for s in os.environ.get("SSO_SERVERS", "nginx").split(",") if s]


def make_stack(tmp_root, server, **overrides):
    state = tempfile.mkdtemp(prefix=f"sso-{server}-", dir=tmp_root)
    return Stack(state, BIN, server=server, overrides=overrides, log_level="debug")


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("stacks")


@pytest.fixture(scope="module", params=SERVERS)
def stack(request, tmp_root):
    s = make_stack(tmp_root, request.param)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module", params=SERVERS)
def short_stack(request, tmp_root):
    """Short clocks: idle timeout 3 s on both services, absolute lifetime 8 s, requestID TTL 2 s, access written every 1 s."""
    s = make_stack(tmp_root, request.param, idle={"infusion": 3, "dextor": 3}, lifetime=8, request_id_ttl=2,
                   last_access_interval=1, cache_ttl=2)
    s.start()
    yield s
    s.stop()


class Browser:
    """A cookie-keeping HTTP client that follows no redirect by itself, so each hop can be checked."""

    def __init__(self, stack, user_agent="Mozilla/5.0 (X11; Linux x86_64) sso-e2e"):
        self.stack = stack
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies, and REQUESTS_CA_BUNDLE must not replace the demo CA
        self.session.verify = str(stack.ca)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "text/html,application/xhtml+xml"

    def get(self, url, **kw):
        return self.session.get(url, allow_redirects=False, timeout=10, **kw)

    def post(self, url, **kw):
        return self.session.post(url, allow_redirects=False, timeout=10, **kw)

    def follow(self, url, limit=12):
        """GETs `url` and follows redirects; returns (final response, [urls visited])."""
        hops = [url]
        r = self.get(url)
        while r.status_code in (301, 302, 303, 307) and len(hops) < limit:
            url = requests.compat.urljoin(url, r.headers["Location"])
            hops.append(url)
            r = self.get(url)
        return r, hops

    def navigate(self, method, url, body=b"", headers=None, limit=15):
        """Sends a request and follows redirects as a browser does: 307/308 re-send the same method and body, other
        redirects become a GET. Returns (final response, [(method, url)] visited)."""
        hops = [(method, url)]
        r = self.session.request(method, url, data=body, headers=headers or {}, allow_redirects=False, timeout=15)
        while r.status_code in (301, 302, 303, 307, 308) and len(hops) < limit:
            url = requests.compat.urljoin(url, r.headers["Location"])
            if r.status_code not in (307, 308):
                method, body, headers = "GET", b"", {}
            hops.append((method, url))
            r = self.session.request(method, url, data=body, headers=headers, allow_redirects=False, timeout=15)
        return r, hops

    def submit_login(self, form_response, username, password):
        fields = form_fields(form_response.text)
        fields["username"] = username
        fields["password"] = password
        return self.post(self.stack.accounts + "/login", data=fields)

    def sign_in(self, app_url, username="alice", password="wonderland"):
        """Opens `app_url`, signs in on the form, and follows back; returns the final response."""
        form, _ = self.follow(app_url)
        assert 'name="password"' in form.text, form.text[:500]
        r = self.submit_login(form, username, password)
        assert r.status_code == 302, r.text[:500]
        final, _ = self.follow(requests.compat.urljoin(self.stack.accounts, r.headers["Location"]))
        return final

    def cookie(self, host, name="__Host-sso"):
        for c in self.session.cookies:
            if c.domain.lstrip(".") == host and c.name == name:
                return c
        return None


def form_fields(html):
    """The hidden and text inputs of the first form on a page."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            raw = value.group(1) if value else ""
            fields[name.group(1)] = raw.replace("&quot;", '"').replace("&#39;", "'").replace("&lt;", "<").replace(
                "&gt;", ">").replace("&amp;", "&")
    return fields


@pytest.fixture
def browser(stack):
    return Browser(stack)
