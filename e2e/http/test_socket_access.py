"""Only the web server may connect to the FastCGI programs. Unix sockets (nginx) are 0660 in the web server's group, and
nginx's workers run in that group, not as root; another user is refused at connect. A TCP port (Apache) admits only
connections whose other end belongs to the web server's user; root and nobody are closed without an answer."""
import grp
import os
import stat
import time
from pathlib import Path

import pytest

from helpers import address_text, attack, program_address

PROGRAMS = ("accounts", "appauth")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other users (www-data, nobody)")


def probe(stack, name, user):
    host = ("accounts.iqueue.test" if name == "accounts" else "infusion.iqueue.test") + f":{stack.https_port}"
    return attack(stack, "probe", address_text(program_address(stack, name)), host, user=user)


def test_unix_sockets_admit_only_the_web_servers_group(stack):
    if stack.server != "nginx":
        pytest.skip("the Apache site reaches the programs over TCP: see the test below")
    for path in (stack.accounts_socket, stack.appauth_socket):
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        assert grp.getgrgid(st.st_gid).gr_name == stack.web_user
    assert_workers_run_as_web_user(stack)
    for name in PROGRAMS:
        assert probe(stack, name, "nobody") == {"connected": False, "error": "PermissionError", "status": None}
        assert isinstance(probe(stack, name, stack.web_user)["status"], int)  # answered


def status(proc):
    """/proc/PID/status, or "" for a process that has just ended."""
    try:
        return (proc / "status").read_text()
    except OSError:
        return ""


def assert_workers_run_as_web_user(stack):
    """The web server's worker processes (children of its master) run as the web server's user, never as root."""
    master = stack.procs[stack.server].pid
    deadline = time.time() + 10
    workers = []
    while not workers and time.time() < deadline:  # Apache's master starts its children a moment after it listens
        workers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and f"PPid:\t{master}\n" in status(p)]
        time.sleep(0.1)
    assert workers
    for w in workers:
        uids = next(line for line in status(w).splitlines() if line.startswith("Uid:")).split()[1:]
        assert {int(u) for u in uids} == {__import__("pwd").getpwnam(stack.web_user).pw_uid}, (w, uids)


def test_tcp_ports_admit_only_the_web_servers_user(stack):
    if stack.server != "apache":
        pytest.skip("the nginx site reaches the programs over unix sockets: see the test above")
    assert_workers_run_as_web_user(stack)
    for name in PROGRAMS:
        for user in ("root", "nobody"):
            # Accepted by the kernel, then closed before a byte is read: no answer.
            assert probe(stack, name, user) == {"connected": True, "status": None}, (name, user)
        assert isinstance(probe(stack, name, stack.web_user)["status"], int), name  # answered
