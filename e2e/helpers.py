"""What the end-to-end tests import (fixtures are in conftest.py): where the programs are, which web servers to run
against, how a stack is made, Browser (an HTTP client that shows every redirect hop) and headless Chromium."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from ssostack import APACHE_STOP_MARK, ROOT, Stack

BIN = Path(os.environ.get("SSO_BIN", ROOT / ".build" / "debug"))
SERVERS = [s for s in os.environ.get("SSO_SERVERS", "nginx").split(",") if s]
ARTIFACTS = ROOT / "artifacts" / "screenshots"


def make_stack(tmp_root, server, log_level="debug", **overrides):
    state = tempfile.mkdtemp(prefix=f"sso-{server}-", dir=tmp_root)
    return Stack(state, BIN, server=server, overrides=overrides, log_level=log_level)


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects from a given local address."""

    def __init__(self, source, **kw):
        self.source = source
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kw)


class Browser:
    """A cookie-keeping HTTP client that follows no redirect by itself, so each hop can be checked."""

    def __init__(self, stack, user_agent="Mozilla/5.0 (X11; Linux x86_64) sso-e2e", source=None):
        """`source`: the loopback address this browser connects from (127.0.0.2, …), so the servers see another client
        address; the whole 127.0.0.0/8 is loopback on Linux."""
        self.stack = stack
        self.session = requests.Session()
        if source:
            adapter = SourceAddressAdapter(source)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
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

    def request_id_link(self, target):
        """Walks the redirects from `target` (an app URL this browser is not signed in to) until a requestID link
        appears, and returns it without following it: the hand-off this browser started."""
        url = target
        for _ in range(5):
            r = self.get(url)
            assert r.status_code in (302, 303), (url, r.status_code, r.text[:200])
            url = requests.compat.urljoin(url, r.headers["Location"])
            if "requestID=" in url:
                return url
        raise AssertionError(f"no requestID link on the way from {target}")

    def sign_out(self):
        """Signs out at accounts the way a person does: the logout page, then its button (a POST with the page's CSRF
        token). Returns the final response."""
        page = self.get(self.stack.accounts + "/logout")
        if 'method="post"' not in page.text:
            return page  # an older accounts host signs out on GET
        return self.post(self.stack.accounts + "/logout", data=form_fields(page.text))

    def cookie(self, host, name="__Host-sso"):
        for c in self.session.cookies:
            if c.domain.lstrip(".") == host and c.name == name:
                return c
        return None


def program_pids(stack, name):
    """The pids of one program of the stack ("accounts" or "appauth"): its own first, then its worker processes."""
    top = stack.procs[name].pid
    children = subprocess.run(["pgrep", "-P", str(top)], capture_output=True, text=True).stdout.split()
    return [top] + sorted(int(c) for c in children)


CRASH = re.compile(r"Program crashed|Swift runtime failure|Fatal error:|AddressSanitizer:|Assertion \"|status=signal (?!9\b|15\b)\d+"
                   # the web servers' own: Apache's parent on a child that died (AH00052), nginx's master on a worker
                   r"|exit signal (?:Segmentation|Aborted|Bus error|Illegal|Floating)|exited on signal (?!9\b|15\b)\d+")


def crash_lines(log):
    """The lines of a program's log file that show a crash: the Swift runtime's or a sanitizer's report, a libmemcached
    assertion, the supervisor's note of a worker process that ended on a signal no test sends (9 and 15 are), a web
    server's child or worker that died on a fatal signal. An Apache child that dies on the stack's own stop (between
    APACHE_STOP_MARK and Apache's next start) is Apache's exit path, not a request, and is not counted. Each Apache
    crash is followed by the backtrace of its core (core_backtrace)."""
    out, stopping = [], False
    for line in log.read_text(errors="replace").splitlines():
        if line == APACHE_STOP_MARK:
            stopping = True
        elif "AH00489" in line:  # "... configured -- resuming normal operations": started again
            stopping = False
        elif CRASH.search(line) and not stopping:
            out.append(f"{log.name}: {line}")
            out += [f"    {l}" for l in core_backtrace(line)]
    return out


def core_backtrace(line, frames=25):
    """The crashing thread's backtrace from the core an Apache child left (its parent's line names the folder: "possible
    coredump in …"), read with gdb, and the core removed (they are large). Empty when there is no core or no gdb."""
    found = re.search(r"possible coredump in (\S+)", line)
    if not found or not shutil.which("gdb"):
        return []
    out = []
    for core in sorted(Path(found.group(1)).glob("core*")):
        gdb = subprocess.run(["gdb", "-batch", "-nx", "-ex", f"bt {frames}", shutil.which("apache2") or "apache2", str(core)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", timeout=120)
        seen = [l for l in gdb.stdout.splitlines() if l.startswith("#")]
        out += [f"{core.name}:"] + [l for i, l in enumerate(seen) if i == 0 or l != seen[i - 1]][:frames]  # gdb shows #0 twice
        core.unlink()
    if not any(Path(found.group(1)).iterdir()):
        Path(found.group(1)).rmdir()
    return out


def log_tails(stack, lines=25):
    """The last lines of the web server's error log, of both FastCGI programs' logs and of the echo apps' (an app that
    could not start says why there): what a failed test's report shows, so a CI run that failed once explains itself
    after its temporary stack is gone."""
    web = "apache-error" if stack.server == "apache" else "nginx-error"
    out = []
    for name in (web, "appauth", "accounts", *(f"app-{app}" for app in stack.app_ports)):
        path = stack.log_path(name)
        text = path.read_text(errors="replace").splitlines() if path.exists() else ["(no log)"]
        out += [f"--- {path.name}, last {lines} lines"] + [line[:400] for line in text[-lines:]]
    return "\n".join(out)


def ended_report(stack, names=("accounts", "appauth"), lines=40):
    """What the programs' logs say about worker processes that ended (the supervisor's line, with the exit status or
    signal) and any crash report, with the lines after it (the backtrace): the message a test shows when a process
    ended, so a CI run explains itself without its (temporary) logs."""
    out = []
    for name in names:
        text = stack.log_path(name).read_text(errors="replace").splitlines()
        for i, line in enumerate(text):
            if CRASH.search(line) and "status=signal" not in line:
                out += [f"{name}: {l}" for l in text[i:i + lines]]
            elif "worker process ended" in line and "status=exit code 0" not in line:
                out.append(f"{name}: {line}")
    return "\n".join(out[:400]) or "(nothing in the logs)"


def rss_kb(pids):
    """Resident memory of these processes together, in kB (VmRSS)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def run_as(user):
    """subprocess arguments that run a child as `user` with that user's own groups (root's are dropped); nothing when
    the tests do not run as root."""
    if os.geteuid() != 0:
        return {}
    import grp
    import pwd
    entry = pwd.getpwnam(user)
    groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": groups}


def program_address(stack, name):
    """Where the web server reaches a program: its unix socket path (nginx) or ("127.0.0.1", port) (Apache)."""
    if stack.server == "apache":
        return ("127.0.0.1", stack.accounts_tcp if name == "accounts" else stack.appauth_tcp)
    return str(stack.accounts_socket if name == "accounts" else stack.appauth_socket)


def address_text(address):
    return address if isinstance(address, str) else f"{address[0]}:{address[1]}"


def attack(stack, *args, user=None, wait=True):
    """Runs e2e/fcgi_attacks.py as another process, by default as the web server's user: the one local user the
    sockets admit, so the attack reaches the program. Returns its JSON answer (or the running process)."""
    cmd = [sys.executable, str(Path(__file__).with_name("fcgi_attacks.py")), *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent))
    # SSO_ATTACK_USER runs them as someone else (root reaches any unix socket, e.g. one in a private folder).
    user = user or os.environ.get("SSO_ATTACK_USER") or getattr(stack, "web_user", "www-data")
    kwargs = run_as(user)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                            **kwargs)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    import json
    return json.loads(out.strip().splitlines()[-1])


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


def new_driver(profile_dir):
    """Headless Chromium (Debian's chromium and chromium-driver) under Selenium, imported here so that only the browser
    suite needs Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--host-resolver-rules=MAP *.test 127.0.0.1", "--ignore-certificate-errors", "--no-proxy-server",
                "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", f"--user-data-dir={profile_dir}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(20)
    return driver


def raw_https(stack, sni_host, request, timeout=10):
    """Sends `request` (bytes, exactly as written) over TLS to the stack with `sni_host` as the server name, for requests
    no HTTP library would send (absolute request lines, odd headers); returns (status, lower-case headers, body)."""
    import socket
    import ssl
    context = ssl.create_default_context(cafile=str(stack.ca))
    with socket.create_connection(("127.0.0.1", stack.https_port), timeout=timeout) as tcp:
        with context.wrap_socket(tcp, server_hostname=sni_host) as tls:
            tls.sendall(request)
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, headers, body


def refused_within(browser, url, bound):
    """True once `url` sends `browser` to sign in (302) within `bound` seconds: a session ended elsewhere (users file
    reloaded, ssoctl) stops working at its next request."""
    deadline = time.time() + bound
    while time.time() < deadline:
        if browser.get(url).status_code == 302:
            return True
        time.sleep(0.25)
    return False
