"""The shipped systemd units (dist/systemd/), run with their own settings on a machine where systemd is not PID 1:
`systemd-analyze verify` accepts them; each program started by `systemd-socket-activate` (the socket passed as fd 3
with LISTEN_FDS, as systemd does) serves the whole flow through the web server; a killed worker process is back within
a second while requests keep being answered; and the whole program killed is started again by the unit's
Restart=always/RestartSec= on the socket the .socket unit holds, losing no connection that was not in flight."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from helpers import BIN, Browser, program_address
from ssostack import ROOT
from systemd_units import (UNITS, UnitRunner, apply_socket_access, exec_start, listen_text, read_unit, seconds,
                           setting)

PROGRAMS = ("accounts", "appauth")


def installed_config():
    """The package's /etc/sso/sso.yaml, made as scripts/package makes it."""
    with tempfile.TemporaryDirectory(prefix="sso-installed-") as folder:
        out = Path(folder)
        subprocess.run([os.environ.get("PYTHON", "/usr/bin/python3"), ROOT / "dist" / "debian" / "installed-config.py",
                        ROOT / "config", out], check=True)
        return yaml.safe_load((out / "sso.yaml").read_text())


def test_units_pass_systemd_analyze_verify(tmp_path):
    """verify prints unknown keys and bad values as warnings with exit code 0, so any output fails the test too. The
    programs must exist for verify: /usr/bin is this build's folder here (the package test verifies the installed
    units as they are)."""
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("ExecStart=/usr/bin/", f"ExecStart={BIN}/")
        (tmp_path / unit.name).write_text(text)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["sso-accounts.service", "sso-accounts.socket", "sso-appauth.service", "sso-appauth.socket"]
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


def test_the_opt_in_batch_drop_in_passes_verify_with_the_unit(tmp_path):
    """dist/examples/sso-appauth-batch.conf (docs/runtime.md, "CPU scheduling") as the operator installs it, in
    sso-appauth.service.d/ beside the unit: verify reads drop-ins from the unit path (SYSTEMD_UNIT_PATH) and warns about
    a bad key or value there as in the unit, so any output fails the test."""
    for unit in ("sso-appauth.service", "sso-appauth.socket"):
        (tmp_path / unit).write_text((UNITS / unit).read_text().replace("ExecStart=/usr/bin/", f"ExecStart={BIN}/"))
    drop_in = ROOT / "dist" / "examples" / "sso-appauth-batch.conf"
    (tmp_path / "sso-appauth.service.d").mkdir()
    (tmp_path / "sso-appauth.service.d" / "batch.conf").write_text(drop_in.read_text())
    settings = [line for line in drop_in.read_text().splitlines() if line and not line.startswith("#")]
    assert settings == ["[Service]", "CPUSchedulingPolicy=batch"], settings
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "sso-appauth.service", "sso-appauth.socket"],
                       cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"})
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


@pytest.mark.parametrize("program", PROGRAMS)
def test_units_hold_the_contract(program):
    """What the package promises about each unit pair: the socket the installed config names, only the web server's
    group may connect, a dedicated user, Restart=always back within a second, the usual hardening."""
    sock = read_unit(f"sso-{program}.socket")["Socket"]
    service = read_unit(f"sso-{program}.service")
    s = service["Service"]
    section = "accounts" if program == "accounts" else "app_auth"
    assert "unix:" + sock["ListenStream"][-1] == installed_config()[section]["listen"]
    assert sock["SocketGroup"] == ["www-data"] and sock["SocketMode"] == ["0660"] and sock.get("Accept", ["no"]) == ["no"]
    assert s["User"] == ["sso"] and s["Group"] == ["sso"]
    assert s["Restart"] == ["always"] and seconds(s["RestartSec"][-1]) < 1
    assert s["RestartPreventExitStatus"] == ["2"]  # a config problem: restarting cannot help
    assert f"sso-{program}.socket" in service["Unit"]["Requires"][-1]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
                       "PrivateDevices": "yes", "KillMode": "mixed", "CapabilityBoundingSet": ""}.items():
        assert s[key] == [value], key
    assert s["LogsDirectory"] == ["sso"] and installed_config()["audit"]["log_file"].startswith("/var/log/sso/")


class Traffic:
    """Requests through the web server to one program, from `threads` sequential clients, each request timed."""

    def __init__(self, stack, program, threads=3):
        self.stack = stack
        self.program = program
        self.results = []      # (sent, done, status or exception name), monotonic seconds
        self.stopping = False
        self.browsers = []
        for _ in range(threads):
            b = Browser(stack)
            if program == "appauth":
                # Signed in, so every request is a full check by AppAuthFCGI (200 from the app).
                assert b.sign_in(stack.infusion + "/").status_code == 200
            self.browsers.append(b)
        self.url = (stack.infusion + "/under-load") if program == "appauth" else (stack.accounts + "/")
        self.expected = self.browsers[0].get(self.url).status_code
        assert self.expected in (200, 302), self.expected
        self.threads = [threading.Thread(target=self.run, args=(b,), daemon=True) for b in self.browsers]

    def run(self, browser):
        while not self.stopping:
            sent = time.monotonic()
            try:
                status = browser.get(self.url).status_code
            except Exception as e:  # a reset connection: counted, not raised
                status = type(e).__name__
            self.results.append((sent, time.monotonic(), status))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        for t in self.threads:
            t.join(30)

    def failed(self):
        return [r for r in self.results if r[2] != self.expected]

    def longest_wait_after(self, t0):
        """The longest a request sent after `t0` (or in flight at `t0`) waited for its answer, in seconds."""
        return max(done - max(sent, t0) for sent, done, _ in self.results if done > t0)


def listening_lines(log, pid):
    return [line for line in Path(log).read_text(errors="replace").splitlines()
            if f"pid={pid} " in line and line.rstrip().endswith("listening")]


def wait(check, timeout, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return check()


def children(pid):
    """The child processes of `pid`, read from /proc (no process started per look, so polling stays cheap)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += (task / "children").read_text().split()
        except OSError:
            pass
    return sorted(int(c) for c in out)


def start_socket_activated(stack, program, log):
    """`systemd-socket-activate -l ADDRESS <the unit's ExecStart>`: it binds the socket, waits for the first connection,
    then execs the program with the socket as fd 3 and LISTEN_FDS=1, LISTEN_PID (its own pid, which the exec keeps).
    The .socket unit's SocketMode= and SocketGroup= are applied to the socket it made (it cannot set them itself)."""
    stack.terminate(program)
    address = program_address(stack, program)
    if isinstance(address, str) and os.path.exists(address):
        os.unlink(address)
    argv = exec_start(program, BIN, stack.config_path)
    proc = subprocess.Popen([shutil.which("systemd-socket-activate"), "-l", listen_text(address), *argv],
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    text = lambda: Path(log).read_text(errors="replace")
    assert wait(lambda: "Listening on" in text(), 10), text()
    if isinstance(address, str):
        apply_socket_access(address, program)
    return proc


def stop_socket_activated(stack, program, proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(40)
    address = program_address(stack, program)
    if isinstance(address, str) and os.path.exists(address):
        os.unlink(address)  # systemd-socket-activate's socket: the program leaves a socket it did not make in place
    stack.start_fcgi([program])


def test_both_programs_serve_the_flow_on_the_sockets_systemd_passes(own_stack):
    """Sign-in, hand-off and checks through the web server, with both programs started by systemd-socket-activate.
    The programs say they took the socket from systemd (not from the config), and a stop leaves that socket in place:
    it is systemd's, and the next start serves it."""
    logs = {p: own_stack.log_path(f"{p}-socket-activated") for p in PROGRAMS}
    procs = {}
    try:
        for p in PROGRAMS:
            procs[p] = start_socket_activated(own_stack, p, logs[p])
        b = Browser(own_stack)
        r = b.sign_in(own_stack.infusion + "/")
        assert r.status_code == 200 and r.json()["headers"]["x-remote-user"] == "alice", r.text[:300]
        assert b.follow(own_stack.dextor + "/")[0].status_code == 200  # SSO into the second domain
        for p in PROGRAMS:
            text = logs[p].read_text(errors="replace")
            supervisor = procs[p].pid  # systemd-socket-activate exec'd the program: same pid
            assert re.search(rf"pid={supervisor} .*socket=systemd.*supervisor listening", text), text
            assert listening_lines(logs[p], children(supervisor)[0]), text
        # SIGTERM (systemctl stop of the service alone): the program ends, the socket path stays.
        os.killpg(procs["appauth"].pid, signal.SIGTERM)
        assert procs["appauth"].wait(40) == 0
        address = program_address(own_stack, "appauth")
        if isinstance(address, str):
            assert os.path.exists(address)
    finally:
        for p, proc in procs.items():
            stop_socket_activated(own_stack, p, proc)


def test_the_program_refuses_a_socket_that_is_not_its_configured_address(own_stack, tmp_path):
    """A .socket unit and a config that disagree would leave the web server knocking where nobody listens: the program
    says so and exits instead of serving another address, with 2, the exit the unit does not restart
    (RestartPreventExitStatus=2): starting again on the same socket cannot help. It exited 1, and systemd restarted it
    every 200 ms until StartLimitBurst."""
    other = str(tmp_path / "other.sock")
    argv = exec_start("appauth", BIN, own_stack.config_path)
    proc = subprocess.Popen(["systemd-socket-activate", "-l", other, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        import socket

        def connected(s):
            # The path appears at bind, a moment before listen: a connect in between is refused (seen once in a run).
            try:
                s.connect(other)
                return True
            except (FileNotFoundError, ConnectionRefusedError):
                return False
        with socket.socket(socket.AF_UNIX) as s:
            assert wait(lambda: connected(s), 10)  # systemd-socket-activate starts the program at the first connection
            out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 2, out
        assert f"systemd passed a socket on unix:{other} but the config says" in out, out
        assert "(a config or unit problem: not restarted)" in out, out
        assert setting(read_unit("sso-appauth.service"), "Service", "RestartPreventExitStatus") == "2"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_killed_worker_process_is_back_within_a_second_while_requests_are_answered(own_stack, program):
    """SIGKILL to a worker process (as a crash in any library would end it) of a socket-activated program under load.
    AccountsFCGI runs one worker process (the example's `processes: 1`): while it is replaced nothing serves, and the
    requests sent meanwhile wait on the socket and are answered by the new one. AppAuthFCGI runs two: the other serves
    meanwhile. Measured: from the kill until the new worker says it is serving, and the longest any request waited."""
    log = own_stack.log_path(f"{program}-worker-kill")
    proc = start_socket_activated(own_stack, program, log)
    try:
        with Traffic(own_stack, program) as traffic:
            supervisor = proc.pid
            before = wait(lambda: children(supervisor), 10)
            assert before
            # The supervisor replaces at once a worker that served 5 s or more (a crash in service); one that dies
            # younger is replaced after a pause that starts at 200 ms and doubles (a crash loop at start).
            time.sleep(5.5)
            victim = before[0]
            killed = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            new = wait(lambda: [p for p in children(supervisor) if p not in before and listening_lines(log, p)], 5, 0.005)
            back = time.monotonic() - killed
            time.sleep(1.5)
        assert new, Path(log).read_text()[-2000:]
        waited = traffic.longest_wait_after(killed)
        failed = traffic.failed()
        answered_after = [r for r in traffic.results if r[0] > killed]
        print(f"\n[{own_stack.server}] {program}: worker {victim} killed, new worker {new[0]} serving after {back:.3f} s; "
              f"{len(traffic.results)} requests, {len(failed)} failed, longest wait {waited:.3f} s")
        assert back < 1.0, back
        assert waited < 1.0, waited
        # Lost: at most the requests that worker had taken (one per client thread), none sent after the kill.
        assert len(failed) <= len(traffic.threads) and all(r[0] < killed for r in failed), failed
        assert len(answered_after) > 10
    finally:
        stop_socket_activated(own_stack, program, proc)


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_unit_restarts_the_whole_program_on_the_socket_it_holds(own_stack, program):
    """The unit's own policy, run by UnitRunner as systemd would: the socket is held for the program; SIGKILL to the
    program itself (its supervisor; its workers end with it) is followed by a new start after RestartSec=, on the same
    socket, so requests sent meanwhile wait and are answered; `systemctl restart` (SIGTERM, start) loses nothing."""
    own_stack.terminate(program)
    address = program_address(own_stack, program)
    runner = UnitRunner(program, address, BIN, own_stack.config_path, own_stack.log_path(f"{program}-unit")).start()
    try:
        # The first start, serving before the traffic begins.
        assert wait(lambda: any(listening_lines(runner.log.name, c) for c in children(runner.pid)), 20)
        with Traffic(own_stack, program) as traffic:
            time.sleep(1)
            first = runner.pid
            killed = time.monotonic()
            os.kill(first, signal.SIGKILL)
            new = wait(lambda: runner.pid != first and [c for c in children(runner.pid) if listening_lines(runner.log.name, c)], 5, 0.005)
            back = time.monotonic() - killed
            time.sleep(1)
            second = runner.pid
            restarted = time.monotonic()
            os.kill(second, signal.SIGTERM)  # systemctl restart: stop, then the start after RestartSec=
            assert wait(lambda: runner.pid != second and [c for c in children(runner.pid) if listening_lines(runner.log.name, c)], 10)
            time.sleep(1)
        assert new, runner.log.name
        failed = traffic.failed()
        waited = traffic.longest_wait_after(killed)
        print(f"\n[{own_stack.server}] {program}: program killed, serving again after {back:.3f} s "
              f"(RestartSec={runner.restart_sec:.1f} s); restart: {len(traffic.results)} requests, {len(failed)} failed, "
              f"longest wait {waited:.3f} s")
        # Restart=always: back after RestartSec= and one start of the program (supervisor, then its workers); the
        # margin is for a debug build on 2 shared cores, the figure printed above is what it took.
        assert back < runner.restart_sec + 2.0, back
        assert runner.exits[0][1] == -signal.SIGKILL and runner.exits[1][1] == 0, runner.exits
        # The kill costs at most the requests in flight in the killed workers; the restart and both gaps, nothing.
        assert len(failed) <= len(traffic.threads) and all(r[0] < killed + 0.05 for r in failed), failed
        assert not [r for r in failed if r[0] > restarted - 0.05]
    finally:
        runner.stop()
        own_stack.start_fcgi([program])
