"""A TCP listener with both `allowed_users` and `allowed_addresses` (docs/apache.md: Apache on this host and a web
server on another), proven on network-namespace hosts joined by a bridge. AppAuthFCGI on ssop-app listens on all of
that host's addresses (port 9001) with `allowed_users: [www-data]` and `allowed_addresses: [10.213.14.2, 127.0.0.1]`.
It admits www-data on its own host and the web server at 10.213.14.2 (ssop-web), and nobody else: not root or nobody
on its own host through the listed 127.0.0.1, not a process of its own host through its bridge address, not an
unlisted host (ssop-other, 10.213.14.3). Before, the listed remote web server was refused too ("the owner ... is
unknown (not a local socket)"): every peer had to pass both lists, and no peer on another host can pass the users'.
Addresses exist only inside the namespaces; the host's own namespace gets an `unreachable` route for the /24 while
the test runs."""
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

import cluster as cl
import netns
from helpers import BIN
from ssostack import WEB_USER, Stack

# Hosts of this test's own network, beside the cluster's (scripts/cluster.py: ssoc-*, 10.213.13.0/24).
NETWORK = cl.Network("ssop", "10.213.14", {"app": 21, "web": 2, "other": 3})
namespace, address = NETWORK.namespace, NETWORK.address
PORT = 9001


class AppHost(Stack):
    """memcached and AppAuthFCGI inside ssop-app; AppAuthFCGI on every address of that host, with both lists set."""

    def __init__(self, state):
        super().__init__(state, BIN, server="apache", log_level="info", overrides={"config": {
            "app_auth.listen": f"0.0.0.0:{PORT}",
            "app_auth.allowed_users": [WEB_USER],
            "app_auth.allowed_addresses": [address("web"), "127.0.0.1"]}})
        self.command_prefix = ["ip", "netns", "exec", namespace("app")]

    def listening(self, port):
        return netns.accepts(namespace("app"), "127.0.0.1", port)

    def up(self):
        self.make_keys()
        self.make_users()
        self.make_config()
        self.start_memcached()
        self.start_fcgi(programs=("appauth",))
        return self


def probe(host, user, target):
    """One FastCGI request to `target` (address:port) from a process of `user` inside `host`'s namespace: its JSON
    answer ({"connected": ..., "status": the HTTP status, or None when closed without an answer})."""
    script = Path(__file__).resolve().parent.parent / "fcgi_attacks.py"
    gid = pwd.getpwnam(user).pw_gid
    become = [] if user == "root" else ["setpriv", f"--reuid={user}", f"--regid={gid}", "--init-groups"]
    cmd = ["ip", "netns", "exec", namespace(host), *become, sys.executable, str(script), "probe", target,
           "infusion.iqueue.test"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(script.parent)),
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def app_host(tmp_path_factory):
    reason = cl.can_make_namespaces()
    if reason:
        pytest.skip(f"this machine cannot make network namespaces: {reason}")
    NETWORK.up()
    host = AppHost(tmp_path_factory.mktemp("remote-web"))
    try:
        yield host.up()
    finally:
        host.stop()
        NETWORK.down()


def answered(result):
    return result["connected"] is True and isinstance(result["status"], int)


def refused(result):
    """Accepted by the kernel, closed before a byte was read: no answer."""
    return result == {"connected": True, "status": None}


def test_the_listed_web_server_on_another_host_is_admitted(app_host):
    assert answered(probe("web", "root", f"{address('app')}:{PORT}"))


def test_an_unlisted_host_is_refused(app_host):
    assert refused(probe("other", "root", f"{address('app')}:{PORT}"))


def test_on_its_own_host_only_the_listed_user_is_admitted(app_host):
    loopback = f"127.0.0.1:{PORT}"
    assert answered(probe("app", WEB_USER, loopback))
    # The listed 127.0.0.1 lets no other local user in: every local process connects from it.
    for user in ("root", "nobody"):
        assert refused(probe("app", user, loopback)), user
    # Its own bridge address is not listed: a local process connecting through it comes from it, and is refused.
    assert refused(probe("app", WEB_USER, f"{address('app')}:{PORT}"))
