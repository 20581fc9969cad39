"""A TCP listener with both `allowed_users` and `allowed_addresses` (docs/apache.md: Apache on this host and a web
server on another), proven on network-namespace hosts joined by a bridge. AppAuthFCGI on ssop-app listens on all of
that host's addresses (port 9001) with `allowed_users: [www-data]` and `allowed_addresses: [10.213.14.2, 127.0.0.1,
10.213.14.21]` (its own bridge address listed too: the mistake the docs warn of). It admits www-data on its own host
and the web server at 10.213.14.2 (ssop-web), and nobody else: not root or nobody on its own host through a listed
address, not an unlisted host (ssop-other, 10.213.14.3), and not a local process whose socket it hid from the kernel's
owner lookup (SO_BINDTODEVICE, which needs no privilege). Before cd4edae the listed remote web server was refused
("the owner ... is unknown (not a local socket)"); between it and the fix of the hidden sockets, a hidden local socket
passed as "another host", and a www-data listener on the hidden socket's port lent it www-data's uid.
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
            "app_auth.allowed_addresses": [address("web"), "127.0.0.1", address("app")]}})
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


SCRIPT = Path(__file__).resolve().parent.parent / "fcgi_attacks.py"


def attack(host, user, *args):
    """e2e/fcgi_attacks.py with `args`, as `user` inside `host`'s namespace: the running process (stdin and stdout piped)."""
    become = [] if user == "root" else ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--init-groups"]
    return subprocess.Popen(["ip", "netns", "exec", namespace(host), *become, sys.executable, str(SCRIPT), *map(str, args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(SCRIPT.parent)))


def last_json(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def probe(host, user, target):
    """One FastCGI request to `target` (address:port) from a process of `user` inside `host`'s namespace: its JSON
    answer ({"connected": ..., "status": the HTTP status, or None when closed without an answer})."""
    return last_json(attack(host, user, "probe", target, "infusion.iqueue.test"))


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
    # Through every listed address of its own: only Apache's user. Every local process connects from these.
    for target in (f"127.0.0.1:{PORT}", f"{address('app')}:{PORT}"):
        assert answered(probe("app", WEB_USER, target)), target
        for user in ("root", "nobody"):
            assert refused(probe("app", user, target)), (user, target)


def test_a_socket_hidden_from_the_owner_lookup_is_refused(app_host):
    """The kernel's owner lookup does not find a socket bound to a device. Through this host's own listed address
    that passed as "a web server on another host"; through 127.0.0.1 the lookup answered with a www-data daemon
    listening on the hidden socket's port (bound after it: SO_REUSEADDR lets both), and its uid let nobody in."""
    assert refused(last_json(attack("app", "nobody", "probe-bound", f"{address('app')}:{PORT}", "infusion.iqueue.test",
                                    address("app"), 0, "eth0")))
    prober = attack("app", "nobody", "probe-bound", f"127.0.0.1:{PORT}", "infusion.iqueue.test", "127.0.0.1", 0, "lo", "wait")
    daemon = None
    try:
        bound = json.loads(prober.stdout.readline())["bound"]
        daemon = attack("app", WEB_USER, "listen-on", bound)
        assert json.loads(daemon.stdout.readline()) == {"listening": bound}, daemon.stderr.read()
        prober.stdin.write("go\n")
        prober.stdin.flush()
        assert refused(last_json(prober))
    finally:
        for proc in (prober, daemon):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
