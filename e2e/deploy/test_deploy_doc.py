"""docs/deploy.md, run as written: every `sh` block in order (those marked `run: all` and the ones of the web server at
hand), with the page's variables given throwaway values (a scratch folder for /etc, /run, /var/log and /usr/local/bin,
free loopback ports, `.test` host names that only this test's client maps to 127.0.0.1, a service user of its own),
once with nginx and once with Apache. Then a browser signs in through the result, opens the second registrable domain
without a password, signs out, and has a form kept across a sign-in; the logs are checked; and the page's own
"Stop and remove" blocks take it all down, with a safety net that stops whatever is left.

What the test stands in for, and nothing else: Debian's nginx and Apache configuration folders are copies of this
machine's /etc/nginx and /etc/apache2 in the scratch folder, with their pid, log and run paths (and Apache's port 80)
moved there too, and without nginx's port-80 default site; `apt-get` checks that each package it names is installed
(no network); the apps are the project's echo app. The only blocks not run are those marked `run: no (systemd)`,
`run: no (package)` and `run: no (download)`. Needs root (a service user, sockets in the web server's group); a release
build the first time (several minutes; cached in .build-deploy/ after that). Run by `scripts/test --deploy`."""
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import types
from pathlib import Path

import pytest
import requests
import yaml

from helpers import Browser
from ssostack import ROOT, free_port, wait_for

DOC = ROOT / "docs" / "deploy.md"
SKIP_REASONS = {"no (systemd)", "no (package)", "no (download)"}
RUN_MARKS = {"variables", "all", "nginx", "apache"}
LOGS = ROOT / "artifacts"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: it adds a service user and runs servers as www-data")

# apt-get reaches the network: in the test it only checks that every package named is installed here.
APT_SHIM = r"""
apt-get() {
    local a missing=()
    for a in "$@"; do
        case "$a" in update|install|-*) continue ;; esac
        dpkg-query -W -f='${Status}' "$a" 2>/dev/null | grep -q "install ok installed" || missing+=("$a")
    done
    if [ ${#missing[@]} -gt 0 ]; then echo "apt-get (deploy test): not installed on this machine: ${missing[*]}" >&2; return 1; fi
}
"""


def doc_blocks():
    """[(mark, first line number, code)] for every ```sh block of the page, in order. Every block must carry a
    `<!-- run: … -->` mark on the line before it, and only the known reasons may keep one from running."""
    lines = DOC.read_text().splitlines()
    out = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            mark = re.fullmatch(r"<!-- run: (.+?) -->", lines[j].strip()) if j >= 0 else None
            assert mark, f"docs/deploy.md:{i + 1}: a sh block without a <!-- run: … --> mark"
            end = lines.index("```", i + 1)
            out.append((mark.group(1), i + 2, "\n".join(lines[i + 1:end])))
            i = end
        i += 1
    marks = {m for m, _, _ in out}
    assert marks <= RUN_MARKS | SKIP_REASONS, f"unknown marks: {marks - RUN_MARKS - SKIP_REASONS}"
    assert [m for m, _, _ in out].count("variables") == 1 and out[0][0] == "variables"
    return out


def variable_names(block):
    return [m.group(2) for m in re.finditer(r"^(export )?([A-Z][A-Z0-9_]*)=", block, re.M)]


class Deployment:
    """One run of the page for one web server, in its own scratch folder."""

    def __init__(self, server):
        self.server = server
        self.scratch = Path(tempfile.mkdtemp(prefix=f"sso-deploy-{server}-"))
        os.chmod(self.scratch, 0o755)  # the service user and www-data must reach the sockets and files in it
        # The page's own default ports where nothing on 127.0.0.1 holds them (443, and 8081 and 8082 for the apps),
        # else free ones: a check on the page that holds only for other values (a port that a URL leaves out, a value
        # equal to the demo's) fails here as it would for a reader who keeps the defaults.
        self.port = 443 if _bindable(443) else free_port()
        self.hosts = {"accounts": "accounts.doc-one.test", "app1": "app.doc-one.test", "app2": "app.doc-two.test"}
        defaults = _bindable(8081) and _bindable(8082)
        self.backends = {"app1": 8081 if defaults else free_port(), "app2": 8082 if defaults else free_port()}
        self.user = "ssodoc" + secrets.token_hex(3)
        self.passwords = {"alice": secrets.token_urlsafe(12), "bob": secrets.token_urlsafe(12)}
        d = self.dirs = {name: self.scratch / rel for name, rel in {
            "bin": "usr/local/bin", "etc": "etc/sso", "log": "var/log/sso", "run": "run/sso", "tmpfiles": "etc/tmpfiles.d",
            "tls": "etc/ssl/sso", "nginx": "etc/nginx", "nginx_log": "var/log/nginx", "apache": "etc/apache2",
            "apache_log": "var/log/apache2", "apache_run": "run/apache2"}.items()}
        self.values = {
            "WEB_SERVER": server, "ACCOUNTS_HOST": self.hosts["accounts"], "APP1_HOST": self.hosts["app1"],
            "APP2_HOST": self.hosts["app2"], "APP1_BACKEND": f"127.0.0.1:{self.backends['app1']}",
            "APP2_BACKEND": f"127.0.0.1:{self.backends['app2']}", "HTTPS_PORT": str(self.port),
            "HTTPS_LISTEN": f"127.0.0.1:{self.port}", "MEMCACHED_SOCKET": str(self.scratch / "run/memcached/memcached.sock"), "APPAUTH_PORT": str(free_port()),
            "ALICE_PASSWORD": self.passwords["alice"], "BOB_PASSWORD": self.passwords["bob"], "KID": "doc-1",
            "SSO_USER": self.user, "WEB_USER": "www-data", "SRC": str(ROOT), "BUILD_DIR": str(ROOT / ".build-deploy"),
            "SSO_BIN": str(d["bin"]), "SSO_ETC": str(d["etc"]), "SSO_LOG": str(d["log"]), "SSO_RUN": str(d["run"]),
            "TMPFILES_DIR": str(d["tmpfiles"]), "TLS_DIR": str(d["tls"]), "NGINX_ETC": str(d["nginx"]),
            "NGINX_LOG": str(d["nginx_log"]), "APACHE_CONFDIR": str(d["apache"]), "PATH": None}  # PATH: the page's own
        self.apps = []
        self.pids = []

    # ---- the machine the page starts from

    def prepare_machine(self):
        d = self.dirs
        for key in ("bin", "tmpfiles", "nginx_log", "apache_log", "apache_run"):
            d[key].mkdir(parents=True, exist_ok=True)
        for p in [self.scratch, *self.scratch.rglob("*")]:
            if p.is_dir():
                os.chmod(p, 0o755)
        if self.server == "nginx":
            shutil.copytree("/etc/nginx", d["nginx"], symlinks=True)
            (d["nginx"] / "sites-enabled" / "default").unlink(missing_ok=True)  # port 80 is not ours to take
            conf = (d["nginx"] / "nginx.conf").read_text()
            for old, new in (("/etc/nginx", str(d["nginx"])), ("/run/nginx.pid", str(self.scratch / "run/nginx.pid")),
                             ("/var/log/nginx", str(d["nginx_log"]))):
                assert old in conf, f"Debian's nginx.conf has changed: no {old}"
                conf = conf.replace(old, new)
            (d["nginx"] / "nginx.conf").write_text(conf)
        else:
            shutil.copytree("/etc/apache2", d["apache"], symlinks=True)
            envvars = (d["apache"] / "envvars").read_text()
            for name, path in (("APACHE_PID_FILE", d["apache_run"] / "apache2.pid"), ("APACHE_RUN_DIR", d["apache_run"]),
                               ("APACHE_LOCK_DIR", d["apache_run"]), ("APACHE_LOG_DIR", d["apache_log"])):
                envvars, n = re.subn(rf"^export {name}=.*$", f"export {name}={path}", envvars, flags=re.M)
                assert n == 1, f"Debian's envvars has changed: no {name}"
            (d["apache"] / "envvars").write_text(envvars)
            ports = (d["apache"] / "ports.conf").read_text()
            ports, n = re.subn(r"^Listen 80$", f"Listen 127.0.0.1:{free_port()}", ports, flags=re.M)
            assert n == 1, "Debian's ports.conf has changed: no Listen 80"
            (d["apache"] / "ports.conf").write_text(ports)

    def start_apps(self):
        for name, port in self.backends.items():
            log = open(self.scratch / f"app-{name}.log", "ab")
            proc = subprocess.Popen(["/usr/bin/python3", str(ROOT / "scripts" / "echo_app.py"), str(port), name],
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.apps.append(proc)
            wait_for(lambda: _listening(port), f"echo app {name}", proc=proc)

    # ---- the page

    def script(self, blocks):
        variables = blocks[0][2]
        names = set(variable_names(variables))
        assert names == set(self.values), (
            f"docs/deploy.md's variables and the test's differ: page only {sorted(names - set(self.values))}, "
            f"test only {sorted(set(self.values) - names)}: give every variable a throwaway value here")
        parts = ["set -euo pipefail", APT_SHIM, variables, "# The test's values:"]
        for name, value in self.values.items():
            if value is not None:
                parts.append(f"{'export ' if name == 'APACHE_CONFDIR' else ''}{name}={_quote(value)}")
        return parts

    def run(self, blocks, label):
        parts = self.script(doc_blocks())
        for mark, line, code in blocks:
            parts += [f"echo '### docs/deploy.md:{line} ({mark})'", code]
        LOGS.mkdir(exist_ok=True)
        log = LOGS / f"deploy-{self.server}-{label}.log"
        with open(log, "wb") as out:
            r = subprocess.run(["bash", "-c", "\n".join(parts)], stdout=out, stderr=subprocess.STDOUT, timeout=3600,
                               cwd=self.scratch)
        tail = log.read_text(errors="replace")[-4000:]
        assert r.returncode == 0, f"docs/deploy.md failed ({label}, exit {r.returncode}); log in {log}:\n{tail}"
        return log.read_text(errors="replace")

    def record_pids(self):
        """What the page started, for the safety net."""
        files = [self.dirs["run"] / f"{p}.pid" for p in ("accounts", "appauth", "memcached")]
        files.append(self.scratch / "run/nginx.pid" if self.server == "nginx" else self.dirs["apache_run"] / "apache2.pid")
        for f in files:
            if f.exists():
                self.pids.append(int(f.read_text().split()[0]))

    def safety_net(self):
        for pid in self.pids:
            _stop(pid)
        for proc in self.apps:
            _stop(proc.pid)
            proc.wait()
        try:
            pwd.getpwnam(self.user)
            subprocess.run(["deluser", "--quiet", "--system", self.user], check=False)
        except KeyError:
            pass
        subprocess.run(["delgroup", "--quiet", "--system", self.user], check=False, stderr=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(self.scratch, ignore_errors=True)

    # ---- the client

    def origin(self, name):
        return f"https://{self.hosts[name]}:{self.port}"

    def browser(self):
        return Browser(types.SimpleNamespace(ca=self.dirs["tls"] / "ca.crt", accounts=self.origin("accounts")))


# Connects to a memcached server given as host:port or a unix socket path and asks for its version.
MEMCACHED_PROBE = """
import socket, sys
where = sys.argv[1]
try:
    if where.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(where)
    else:
        host, _, port = where.rpartition(":")
        s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"version\\r\\n")
    print(s.recv(100).decode(errors="replace"))
except OSError as e:
    print("refused:", e)
"""


def _quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


def _bindable(port):
    """Whether nothing holds `port` on 127.0.0.1 (nor on every address) now."""
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _listening(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid):
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _stop(pid, timeout=10):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_every_block_is_marked_and_only_known_ones_are_not_run():
    blocks = doc_blocks()
    assert any(m == "nginx" for m, _, _ in blocks) and any(m == "apache" for m, _, _ in blocks)
    # Stop-and-remove is the page's last section: the test runs it after the sign-in checks.
    assert "## 13. Stop and remove" in DOC.read_text()


@pytest.mark.parametrize("server", ["nginx", "apache"])
def test_the_page_deploys_a_working_sso(server):
    blocks = doc_blocks()
    text = DOC.read_text()
    stop_line = text[:text.index("## 13. Stop and remove")].count("\n") + 1
    wanted = [b for b in blocks[1:] if b[0] in ("all", server)]
    deploy = [b for b in wanted if b[1] < stop_line]
    teardown = [b for b in wanted if b[1] > stop_line]
    d = Deployment(server)
    removed = False
    try:
        d.prepare_machine()
        d.start_apps()
        try:
            output = d.run(deploy, "deploy")
        finally:
            d.record_pids()
        # --check-config, run as the service user by the page, found nothing to warn about (socket folder, its group,
        # memcached): the page sets up everything before it checks.
        warnings = [line for line in output.splitlines() if line.startswith("warning: ")]  # --check-config's form
        assert not warnings, warnings
        check_result(d)
        d.run(teardown, "remove")
        removed = True
        deadline = time.time() + 15  # nginx -s quit and apache2ctl stop let the servers finish on their own
        while time.time() < deadline and any(_alive(pid) for pid in d.pids):
            time.sleep(0.1)
        assert not [pid for pid in d.pids if _alive(pid)], "the page's stop commands left processes running"
        with pytest.raises(KeyError):
            pwd.getpwnam(d.user)
    finally:
        if not removed:
            subprocess.run(["bash", "-c", "\n".join(d.script(blocks) + [c for _, _, c in teardown]).replace(
                "set -euo pipefail", "set +e")], capture_output=True, timeout=300, cwd=d.scratch)
        d.safety_net()


def check_result(d):
    run = d.dirs["run"]
    # The programs run as the service user; the sockets are 0660 in the web server's group.
    for program in ("accounts", "appauth"):
        pid = int((run / f"{program}.pid").read_text())
        uids = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("Uid:")).split()[1:]
        assert {int(u) for u in uids} == {pwd.getpwnam(d.user).pw_uid}, (program, uids)
    sockets = ["accounts"] + (["appauth"] if d.server == "nginx" else [])
    for name in sockets:
        st = os.stat(run / f"{name}.sock")
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        assert (pwd.getpwuid(st.st_uid).pw_name, __import__("grp").getgrgid(st.st_gid).gr_name) == (d.user, "www-data")

    # memcached holds every session, hand-off and kept form, and has no authentication of its own: a process of any
    # other local user (`nobody` here; an app behind the proxy, any account on the machine) must not reach it.
    server = yaml.safe_load((d.dirs["etc"] / "sso.yaml").read_text())["memcached"]["servers"][0]

    def probe(user):
        return subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", MEMCACHED_PROBE, server],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    assert probe(d.user).startswith("VERSION"), f"the service user cannot reach memcached at {server}: {probe(d.user)}"
    other = probe("nobody")
    assert other.startswith("refused:"), f"user nobody reached memcached at {server}: {other}"

    # Sign in on the first domain; the second domain without a password.
    b = d.browser()
    first = b.sign_in(d.origin("app1") + "/first", "alice", d.passwords["alice"])
    assert first.status_code == 200 and first.json()["headers"]["x-remote-user"] == "alice", first.text[:300]
    second, hops = b.follow(d.origin("app2") + "/second")
    assert second.status_code == 200, (second.status_code, hops)
    assert second.json()["headers"]["x-remote-user"] == "alice"
    assert not any("/login" in h for h in hops)
    # bob is not registered for the second app: the no-access page.
    bob = d.browser()
    assert bob.sign_in(d.origin("app1") + "/", "bob", d.passwords["bob"]).status_code == 200
    assert bob.follow(d.origin("app2") + "/")[0].status_code == 403

    # Logout ends the session on both domains.
    assert b.sign_out().status_code == 200
    for app in ("app1", "app2"):
        r = b.get(d.origin(app) + "/after")
        assert r.status_code == 302 and "/noCookie?" in r.headers["Location"], (app, r.status_code)

    # A form sent with the session ended is kept, and delivered once after the sign-in.
    body = b"title=Quarterly&note=caf%C3%A9"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": d.origin("app1"),
               "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
    form, hops = b.navigate("POST", d.origin("app1") + "/forms/submit?draft=7", body, headers)
    assert form.status_code == 200 and 'name="password"' in form.text, (form.status_code, hops)
    r = b.submit_login(form, "alice", d.passwords["alice"])
    assert r.status_code == 302
    final, hops = b.navigate("GET", requests.compat.urljoin(d.origin("accounts"), r.headers["Location"]))
    echo = final.json()
    assert (echo["method"], echo["uri"], echo["body"]) == ("POST", "/forms/submit?draft=7", body.decode()), echo
    assert b.get(d.origin("app1") + "/forms/submit?draft=7").json()["method"] == "GET"  # once

    # The access log has the requests and no requestID or state.
    time.sleep(1)
    log = (d.dirs["nginx_log"] if d.server == "nginx" else d.dirs["apache_log"]) / "sso-access.log"
    text = log.read_text(errors="replace")
    assert "/copyCookie " in text and "/second " in text, text[-1000:]
    assert "requestID" not in text and "state=" not in text
