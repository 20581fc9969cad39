"""scripts/bench --peer llng: LemonLDAP::NG's FastCGI handler behind the bench's own nginx, side by side in one run.

The setup is ../shared/peers/llng/bench.sh's, done from Python so that the peer's two handler variants are served by
the SAME nginx process as this project's variants (same worker_processes, same machine, same wrk parameters, the
rounds interleaved):

  - the peer folder copied to /tmp/peer-llng (its configs name that path), fresh state folders, lmConf-1.json made by
    its etc/make-lmconf.py ("default": handler caches on; "nocache": every check reads memcached);
  - memcached on 127.0.0.1:11311 (the port the peer's lmConf names), three llng-fastcgi-server instances (handler with
    caches, handler with caches off, portal-only) with NPROC=7 handler processes as bench.sh starts them;
  - the peer's `server` blocks of etc/nginx.conf (the /lmauth auth_request location as Debian's example ships it),
    on free ports in the bench's nginx;
  - one sign-in through the LLNG portal (dwho/dwho), and the handler checked to refuse no cookie and a bad cookie.

Every process is started through the bench's Stack, which stops them (by process group) when the bench ends.
"""
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

from ssostack import ROOT, free_port, port_in_use, wait_for

PEER_SRC = ROOT.parent / "shared" / "peers" / "llng"
PEER = Path("/tmp/peer-llng")
PEER_MEMCACHED_PORT = 11311
HANDLER_PROCESSES = 7  # bench.sh's NPROC


class LLNGPeer:
    def __init__(self, stack):
        self.stack = stack
        self.ports = {"L": free_port(), "M": free_port(), "portal": free_port()}
        self.session = None

    def check_installed(self):
        if not Path("/usr/sbin/llng-fastcgi-server").exists():
            raise RuntimeError("--peer llng needs the packages listed at the top of ../shared/peers/llng/bench.sh "
                               "(scripts/bench --peer llng installs them: PEER_LLNG_PACKAGES in scripts/lib.sh)")
        if port_in_use(PEER_MEMCACHED_PORT):
            raise RuntimeError(f"127.0.0.1:{PEER_MEMCACHED_PORT} is in use (the peer's lmConf names that memcached port)")

    def prepare(self):
        """Fresh /tmp/peer-llng with the peer's files and state folders, as bench.sh makes them."""
        self.check_installed()
        if PEER.exists():
            shutil.rmtree(PEER)
        shutil.copytree(PEER_SRC, PEER)
        for sub in ("run", "cache", "cache-nocache", "psessions/lock", "sessions/lock", "notifications", "conf",
                    "conf-nocache", "www", "logs"):
            (PEER / sub).mkdir(parents=True, exist_ok=True)
        subprocess.run(["python3", "etc/make-lmconf.py", "conf", "default"], cwd=PEER, check=True)
        subprocess.run(["python3", "etc/make-lmconf.py", "conf-nocache", "nocache"], cwd=PEER, check=True)
        (PEER / "www" / "index.html").write_text("<html><body>hello</body></html>\n")
        subprocess.run(["chown", "-R", "www-data:www-data"] + [str(PEER / s) for s in
                        ("run", "cache", "cache-nocache", "psessions", "sessions", "notifications", "conf", "conf-nocache",
                         "logs", "www")], check=True)

    def nginx_servers(self):
        """The peer's (b), (b') and portal server blocks from its etc/nginx.conf, on this run's ports."""
        text = (PEER / "etc" / "nginx.conf").read_text()
        http = text[text.index("http {") + len("http {"):text.rindex("}")]
        blocks, depth, start = [], 0, None
        for m in re.finditer(r"[{}]", http):
            if m.group() == "{":
                if depth == 0:
                    start = http.rfind("\n", 0, m.start()) + 1
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    blocks.append(http[start:m.end()])
        keep = []
        for block in blocks:
            if block.lstrip().startswith("upstream"):
                keep.append(block)
            elif "listen 127.0.0.1:18481;" in block:
                keep.append(block.replace("18481", str(self.ports["L"])))
            elif "listen 127.0.0.1:18484;" in block:
                keep.append(block.replace("18484", str(self.ports["M"])))
            elif "listen 127.0.0.1:18483;" in block:
                keep.append(block.replace("18483", str(self.ports["portal"])))
        if len(keep) != 6:
            raise RuntimeError(f"../shared/peers/llng/etc/nginx.conf: expected 3 upstreams and 3 servers, found {len(keep)}")
        return "\n    # --peer llng: the peer's blocks from ../shared/peers/llng/etc/nginx.conf\n    " + "\n    ".join(keep) + "\n"

    def start_backends(self):
        """memcached and the three llng-fastcgi-server instances (before nginx, as bench.sh does)."""
        self.stack.spawn("peer-memcached", ["memcached", "-l", "127.0.0.1", "-p", str(PEER_MEMCACHED_PORT), "-U", "0",
                                            "-u", "nobody", "-m", "64", "-t", "4"])

        def llng(name, ini, sock, n):
            env = dict(os.environ, LLNG_DEFAULTCONFFILE=str(PEER / "etc" / ini),
                       LLNG_DEFAULTLOGGER="Lemonldap::NG::Common::Logger::Std")
            self.stack.spawn(name, ["/usr/sbin/llng-fastcgi-server", "--foreground", "-u", "www-data", "-g", "www-data",
                                    "-n", str(n), "-s", str(PEER / "run" / sock),
                                    "-p", str(PEER / "run" / sock.replace(".sock", ".pid"))], env=env)

        llng("peer-llng", "lemonldap-ng.ini", "llng-fastcgi.sock", HANDLER_PROCESSES)
        llng("peer-llng-nocache", "lemonldap-ng-nocache.ini", "llng-nocache.sock", HANDLER_PROCESSES)
        llng("peer-llng-portal", "lemonldap-ng.ini", "llng-portal.sock", 2)
        for sock in ("llng-fastcgi.sock", "llng-nocache.sock", "llng-portal.sock"):
            wait_for(lambda: (PEER / "run" / sock).is_socket(), f"llng-fastcgi-server {sock}", timeout=60)

    def sign_in(self):
        """One LLNG session (dwho/dwho) through the portal; then the handler must let it in and refuse the rest."""
        portal = f"http://127.0.0.1:{self.ports['portal']}/"
        page = self.http("GET", portal, host="auth.example.com")[2]
        token = re.search(rb'name="token" value="([^"]*)"', page)
        body = urllib.parse.urlencode({"user": "dwho", "password": "dwho",
                                       "token": token.group(1).decode() if token else ""}).encode()
        status, headers, _ = self.http("POST", portal, host="auth.example.com", body=body)
        sid = re.search(r"lemonldap=([0-9a-f]+)", " ".join(v for k, v in headers if k.lower() == "set-cookie"))
        if not sid:
            raise RuntimeError(f"LLNG portal sign-in failed (status {status}); see {PEER}/logs")
        self.session = sid.group(1)
        for v in ("L", "M"):
            url = f"http://127.0.0.1:{self.ports[v]}/"
            ok = self.http("GET", url, host="test1.example.com", cookie=f"lemonldap={self.session}")
            user = dict((k.lower(), val) for k, val in ok[1]).get("x-llng-user")
            no = self.http("GET", url, host="test1.example.com")[0]
            bad = self.http("GET", url, host="test1.example.com", cookie="lemonldap=" + "0" * 64)[0]
            if ok[0] != 200 or user != "dwho" or no == 200 or bad == 200:
                raise RuntimeError(f"LLNG handler ({v}) does not check: valid {ok[0]} user {user!r}, none {no}, bad {bad}")

    @staticmethod
    def http(method, url, host, cookie=None, body=None):
        request = urllib.request.Request(url, data=body, method=method, headers={"Host": host})
        if cookie:
            request.add_header("Cookie", cookie)
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kw):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as r:
                return r.status, r.getheaders(), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.items(), e.read()

    def pids(self, with_children):
        """The peer's handler processes (both variants, managers and workers) and its memcached; not the portal."""
        out = []
        for name in ("peer-llng", "peer-llng-nocache", "peer-memcached"):
            proc = self.stack.procs.get(name)
            if proc:
                out += with_children(proc.pid)
        return out
