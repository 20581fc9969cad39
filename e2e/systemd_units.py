"""The shipped systemd units (dist/systemd/) read as data, and what the tests run them with on a machine where systemd is
not PID 1: `systemd-socket-activate` for the socket a .socket unit passes, and `UnitRunner`, a stand-in for systemd's
own part (hold the .socket's listening socket, start the .service's ExecStart with it as fd 3 and LISTEN_FDS, and
start it again per Restart=/RestartSec=/RestartPreventExitStatus=), so the tests run the units' own settings."""
import grp
import os
import re
import shlex
import socket
import subprocess
import threading
import time
from pathlib import Path

from ssostack import ROOT

UNITS = ROOT / "dist" / "systemd"
# The test stack's name for a program -> its unit's name.
UNIT_OF = {"accounts": "sso-accounts", "appauth": "sso-appauth"}


def read_unit(name):
    """{section: {key: [values]}} of a unit file in dist/systemd (a key may repeat, as systemd allows)."""
    sections, current = {}, None
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def setting(unit, section, key, default=None):
    """The last value of `key` (systemd's rule for single-valued settings)."""
    values = unit.get(section, {}).get(key)
    return values[-1] if values else default


def seconds(text):
    """A systemd time span (`200ms`, `1s`, `1min 5s`, a bare number of seconds) in seconds."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)\s*([a-z]*)", text):
        total += float(number) * units[unit or "s"]
    return total


def exec_start(program, bin_dir, config):
    """The .service's ExecStart with the build's folder for /usr/bin and the test's config for /etc/sso/sso.yaml. Fails
    when the unit's command line is not what the package installs, so the test cannot drift from the unit."""
    argv = shlex.split(setting(read_unit(f"{UNIT_OF[program]}.service"), "Service", "ExecStart"))
    assert argv[0].startswith("/usr/bin/") and argv[1:] == ["--config", "/etc/sso/sso.yaml"], argv
    return [str(Path(bin_dir) / Path(argv[0]).name), "--config", str(config)]


def apply_socket_access(path, program):
    """SocketMode= and SocketGroup= of the program's .socket unit, on a unix socket made by something that cannot set
    them (systemd-socket-activate)."""
    unit = read_unit(f"{UNIT_OF[program]}.socket")
    os.chmod(path, int(setting(unit, "Socket", "SocketMode", "0666"), 8))
    group = setting(unit, "Socket", "SocketGroup")
    if group and os.geteuid() == 0:
        os.chown(path, 0, grp.getgrnam(group).gr_gid)


def listen_text(address):
    """An address as systemd's ListenStream= (and systemd-socket-activate -l) writes it."""
    return address if isinstance(address, str) else f"{address[0]}:{address[1]}"


class UnitRunner:
    """What systemd does for a socket-activated service, for one program: the listening socket is made once and held
    here (as the .socket unit is held by PID 1); the .service's ExecStart runs with it as fd 3, LISTEN_FDS=1 and
    LISTEN_PID; when the process ends it is started again after RestartSec= (Restart=always), unless its exit code is
    in RestartPreventExitStatus=. `address` replaces ListenStream= as a drop-in would. Output goes to `log`."""

    def __init__(self, program, address, bin_dir, config, log):
        self.program = program
        self.address = address
        self.service = read_unit(f"{UNIT_OF[program]}.service")
        self.socket_unit = read_unit(f"{UNIT_OF[program]}.socket")
        self.argv = exec_start(program, bin_dir, config)
        assert setting(self.service, "Service", "Restart") == "always"
        self.restart_sec = seconds(setting(self.service, "Service", "RestartSec", "100ms"))
        self.prevent = {int(x) for x in " ".join(self.service["Service"].get("RestartPreventExitStatus", [])).split()}
        self.log = open(log, "ab")
        self.starts = []          # (monotonic time, pid) of every start
        self.exits = []           # (monotonic time, returncode) of every end
        self.stopping = False
        self.proc = None
        self.lock = threading.Lock()

    def listen(self):
        backlog = int(setting(self.socket_unit, "Socket", "Backlog", "4096"))
        if isinstance(self.address, str):
            if os.path.exists(self.address):
                os.unlink(self.address)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(self.address)
            apply_socket_access(self.address, self.program)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(self.address)
        s.listen(backlog)
        return s

    def start(self):
        self.sock = self.listen()
        self.spawn()
        self.watcher = threading.Thread(target=self.watch, daemon=True)
        self.watcher.start()
        return self

    def spawn(self):
        n = self.sock.fileno()
        # bash moves the socket to fd 3 and names its own pid, which exec keeps, as LISTEN_PID (sd_listen_fds(3)).
        move = "" if n == 3 else f"exec 3<&{n} {n}<&-; "
        script = move + 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"'
        proc = subprocess.Popen(["/bin/bash", "-c", script, "bash", *self.argv], pass_fds=(n,), stdin=subprocess.DEVNULL,
                                stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        with self.lock:
            self.proc = proc
            self.starts.append((time.monotonic(), proc.pid))

    def watch(self):
        while True:
            with self.lock:
                proc = self.proc
            code = proc.wait()
            self.exits.append((time.monotonic(), code))
            if self.stopping or code in self.prevent:
                return
            time.sleep(self.restart_sec)
            if self.stopping:
                return
            self.spawn()

    @property
    def pid(self):
        with self.lock:
            return self.proc.pid

    def stop(self):
        """`systemctl stop` of the service and its socket: SIGTERM to the main process (KillMode=mixed), then the socket
        closes and its path goes (RemoveOnStop=yes)."""
        self.stopping = True
        with self.lock:
            proc = self.proc
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        self.sock.close()
        if isinstance(self.address, str) and os.path.exists(self.address):
            os.unlink(self.address)
        self.log.close()
