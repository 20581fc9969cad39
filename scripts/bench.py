#!/usr/bin/env python3
"""scripts/bench: the auth_request path measured side by side with wrk, in one run, interleaved, same nginx.

  (a) a small static file, no auth
  (c) the same file behind auth_request to an internal location that returns 204 (the mechanism's ceiling)
  (b) the same file behind auth_request to AppAuthFCGI, one valid session
  (d) as (b) with 10,000 distinct signed-in sessions spread over the requests (wrk Lua script)
  (e) auth_request to AppAuthFCGI answering at once (an origin outside the registry: an empty 403 before any JWT or
      memcached work): the cost of the nginx -> FastCGI hop itself, the ceiling of any check behind it
  (f) as (b) with the decision cache on (decision_cache.seconds 5: nginx answers from a kept 200; docs/nginx.md)
  (g) as (d), 10,000 sessions, with the decision cache on
  (f and g only when asked: --variants ...,f,g. They set decision_cache.seconds 5 in the run's config, so AppAuthFCGI
  then also sends X-Accel-Expires on (b) and (d), whose location keeps `fastcgi_cache off`.)
  with --peer llng, in the same nginx and the same rounds (scripts/peer_llng.py):
  (L) auth_request to LemonLDAP::NG's FastCGI handler, one session, its caches warm
  (M) the same handler with its caches off (every check reads memcached)

at 16 and 64 connections, three rounds each. Prints req/s, p50, p99, the ratios b/c and d/c, the CPU time per request
of nginx, AppAuthFCGI and memcached, AppAuthFCGI's RSS, and memcached operations per checked request; then times the
first-access redirect chain and the SSO hop server-side.
"""
import argparse
import html
import http.client
import os
import re
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

import yaml
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from ssostack import ROOT, Stack, free_port  # next to this script, whose folder Python puts on the import path

UA = "sso-bench/1.0"
VARIANTS = ["a", "c", "e", "b", "d", "f", "g"]
DEFAULT_VARIANTS = ["a", "c", "e", "b", "d"]
CACHED = {"f": "b", "g": "d"}  # a decision-cache variant and the uncached one it is measured against
DECISION_CACHE_SECONDS = 5
PEER_VARIANTS = ["L", "M"]
LABELS = {"a": "(a) static, no auth", "c": "(c) auth_request -> nginx 204", "b": "(b) auth_request -> AppAuthFCGI, 1 session",
          "d": "(d) as (b), 10,000 sessions", "e": "(e) auth_request -> FastCGI hop only (403)",
          "f": "(f) as (b), decision cache on", "g": "(g) as (d), decision cache on",
          "L": "(L) peer: LemonLDAP::NG handler, caches", "M": "(M) peer: LemonLDAP::NG, caches off"}
PROCESS_GROUPS = ("nginx", "appauth", "memcached", "peer")


def bench_server(stack, port, static_dir):
    return f"""
    # scripts/bench: one plain-HTTP server, the same static file behind each variant.
    server {{
        listen 127.0.0.1:{port};
        server_name bench;
        access_log off;
        root {static_dir};
        location = /a.txt {{ }}
        location = /c.txt {{ auth_request /_bench_204; }}
        location = /_bench_204 {{ internal; return 204; }}
        location = /b.txt {{
            auth_request /_sso/auth;
            auth_request_set $sso_user $upstream_http_x_remote_user;
            add_header X-Remote-User $sso_user;
        }}
        location = /e.txt {{ auth_request /_bench_hop; }}
        location = /f.txt {{
            auth_request /_sso/auth_cached;
            auth_request_set $sso_user $upstream_http_x_remote_user;
            add_header X-Remote-User $sso_user;
        }}
{shipped_auth_location(stack, "/_bench_hop", "https://not-registered.invalid", cache=False)}
{shipped_auth_location(stack, "/_sso/auth", stack.infusion, cache=False)}
{shipped_auth_location(stack, "/_sso/auth_cached", stack.infusion, cache=True)}
        location = /_bench_metrics {{
            allow 127.0.0.1;
            deny all;
            include sso/sso-fastcgi.conf;
            fastcgi_param SSO_ACTION metrics;
            fastcgi_pass sso_appauth;
        }}
    }}
"""


def apache_bench_site(stack, port, static_dir):
    """The same variants through Apache 2.4 + mod_authnz_fcgi: one plain-HTTP virtual host. (b) and (d) are protected
    with apache/sso-protect.conf as it ships; (e) too, with an origin outside the registry (AppAuthFCGI's authorizer
    answers 403 before any JWT or memcached work). The origin the check is made for is set with SetEnvIf, which runs
    before authorization (SetEnv would run after it): the bench host is plain HTTP on 127.0.0.1, no registered origin.
    There is no (c) in Apache (no auth_request-style subrequest to a 204), so Apache's ceiling is (a)."""
    return f"""
# scripts/bench --server apache: one plain-HTTP virtual host, the same static file behind each variant.
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    ServerName bench
    DocumentRoot "{static_dir}"
    <Directory "{static_dir}">
        Require all granted
    </Directory>
    SetEnvIf Request_URI "^/b\.txt$" SSO_ORIGIN={stack.infusion}
    SetEnvIf Request_URI "^/e\.txt$" SSO_ORIGIN=https://not-registered.invalid
    <Location "/b.txt">
        Include sso/sso-protect.conf
    </Location>
    <Location "/e.txt">
        Include sso/sso-protect.conf
    </Location>
</VirtualHost>
"""


def shipped_auth_location(stack, name, origin, cache):
    """The `location = /_sso/auth` block exactly as nginx/sso-auth-location.conf ships it, renamed to `name` and with
    its SSO_ORIGIN set: the bench server is plain HTTP on 127.0.0.1, which is no registered
    origin, so (b) and (d) say infusion's and (e) one that is not in the registry. `cache` False: the decision cache
    off in this location whatever sso-http.conf says (b, d, e); True: as shipped (f, g)."""
    text = (ROOT / "nginx" / "sso-auth-location.conf").read_text()
    start = text.index("location = /_sso/auth {")
    end = text.index("\n}", start)
    block = text[start:end].replace("location = /_sso/auth {", f"location = {name} {{", 1)
    shipped = "fastcgi_param SSO_ORIGIN $scheme://$server_name:$server_port;"
    if block.count(shipped) != 1:
        raise RuntimeError("nginx/sso-auth-location.conf: expected one SSO_ORIGIN line in /_sso/auth")
    block = block.replace(shipped, f"fastcgi_param SSO_ORIGIN {origin};")
    if not cache:
        if block.count("fastcgi_cache $sso_auth_cache;") != 1:
            raise RuntimeError("nginx/sso-auth-location.conf: expected one `fastcgi_cache $sso_auth_cache;` in /_sso/auth")
        block = block.replace("fastcgi_cache $sso_auth_cache;", "fastcgi_cache off;")
    return "\n".join("        " + line for line in block.splitlines()) + "\n        }"


def memcached_stats(stack):
    """memcached's counters, added up over every server of the pool (one, or three with --memcached pool3)."""
    out = {}
    for port in [stack.memcached_port] + getattr(stack, "extra_memcached_ports", []):
        if stack.memcached_socket:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(str(stack.memcached_socket))
        else:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        with s:
            s.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                data += s.recv(65536)
        for line in data.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "STAT" and parts[2].isdigit():
                out[parts[1]] = str(int(out.get(parts[1], "0")) + int(parts[2]))
    return out


def memcached_ops(stats):
    return sum(int(stats.get(k, 0)) for k in ("cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses", "incr_hits",
                                               "incr_misses", "decr_hits", "decr_misses", "cas_hits", "cas_misses", "cas_badval"))


def checks_made(port):
    """How many checks AppAuthFCGI has made so far (sso_checks_total, every result), from /_bench_metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/_bench_metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    return sum(float(m.group(1)) for m in re.finditer(r"^sso_checks_total\{[^}]*\} (\S+)$", text, re.M))


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_children(pid):
    """`pid` and its child processes (nginx's workers; AppAuthFCGI's supervisor and its worker processes)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [int(c) for c in children]


def server_pids(stack):
    """Processes whose CPU time is charged to each request: nginx (master and workers), AppAuthFCGI (supervisor and
    worker processes), memcached (every server of the pool), and with --peer the peer's handlers and its memcached."""
    web = "apache" if "apache" in stack.procs else "nginx"
    peer = getattr(stack, "peer", None)
    return {"nginx": with_children(stack.procs[web].pid), "appauth": with_children(stack.procs["appauth"].pid),
            "memcached": [p.pid for name, p in stack.procs.items() if name.startswith("memcached")],
            "peer": peer.pids(with_children) if peer else []}


def memory_kb(pid):
    """RSS and how it splits (kB), from /proc/PID/smaps_rollup, summed over AppAuthFCGI's supervisor and its worker
    processes: shared library pages count in every process that maps them, PSS divides them among those processes,
    private pages are each process's own."""
    out, each = {}, []
    for p in with_children(pid):
        for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = out.get(parts[0].rstrip(":"), 0) + int(parts[1])
                if parts[0] == "Rss:":
                    each.append(int(parts[1]))
    return {"rss": out.get("Rss", 0), "pss": out.get("Pss", 0), "shared": out.get("Shared_Clean", 0) + out.get("Shared_Dirty", 0),
            "private": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0), "each": each}


def describe_memory(m):
    """`47.2 MB (supervisor 23.6 + worker 23.6), PSS 22.4 MB, private 5.1 MB`: the first process is the supervisor when
    there are several (processes >= 1), the one serving process otherwise (processes 0)."""
    names = ["supervisor"] + ["worker"] * (len(m["each"]) - 1) if len(m["each"]) > 1 else ["one process"]
    parts = " + ".join(f"{n} {kb / 1024:.1f}" for n, kb in zip(names, m["each"]))
    return (f"{m['rss'] / 1024:.1f} MB ({parts}), PSS {m['pss'] / 1024:.1f} MB, private {m['private'] / 1024:.1f} MB")


def to_ms(text):
    """wrk prints times with us, ms, s, m or h."""
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    if not m:
        raise ValueError(f"unreadable wrk time {text!r}")
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[m.group(2)]


def sessions_lua(tokens):
    """(d)'s wrk script: one request per token of the file `tokens` (one per line), in turn, from a random start."""
    return f"""
local tokens = {{}}
local i = 0
init = function(args)
  for line in io.lines("{tokens}") do tokens[#tokens + 1] = line end
  i = math.random(#tokens)
end
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/b.txt", {{["Cookie"] = "__Host-sso=" .. tokens[i], ["User-Agent"] = "{UA}"}})
end
"""


def wrk(stack, port, variant, connections, seconds, token, lua, attempts=2):
    """One wrk run, with what memcached did ("mc_ops", "mc_gets", "mc_sets") and the CPU microseconds per request of
    each server process ("us_nginx", "us_appauth", "us_memcached") over that same run; an unreadable result is shown
    and run again once."""
    if variant in PEER_VARIANTS:
        port, token = stack.peer.ports[variant], stack.peer.session
    pids = server_pids(stack)
    for attempt in range(attempts):
        stats = memcached_stats(stack)
        before, gets_before, sets_before = memcached_ops(stats), int(stats.get("cmd_get", 0)), int(stats.get("cmd_set", 0))
        cpu_before = {name: sum(cpu_seconds(p) for p in ps) for name, ps in pids.items()}
        checks_before = checks_made(port) if variant in "bdfg" else 0
        try:
            result = wrk_once(port, variant, connections, seconds, token, lua)
        except (AttributeError, ValueError, IndexError) as error:
            if attempt + 1 == attempts:
                raise
            print(f"wrk result unreadable ({error}); running again", file=sys.stderr, flush=True)
            continue
        after = memcached_stats(stack)
        result["mc_ops"] = memcached_ops(after) - before
        result["mc_gets"] = int(after.get("cmd_get", 0)) - gets_before
        result["mc_sets"] = int(after.get("cmd_set", 0)) - sets_before
        # AppAuthFCGI's checks per request: 1 without the decision cache, 1 - hit rate with it.
        result["checks"] = checks_made(port) - checks_before if variant in "bdfg" else 0
        # CPU microseconds per request, by process: steadier than req/s on a shared machine.
        for name, ps in pids.items():
            used = sum(cpu_seconds(p) for p in ps) - cpu_before[name]
            result["us_" + name] = used * 1e6 / max(1, result["total"])
        return result


def wrk_once(port, variant, connections, seconds, token, lua):
    path = {"a": "/a.txt", "c": "/c.txt", "b": "/b.txt", "d": "/b.txt", "e": "/e.txt", "f": "/f.txt", "g": "/f.txt",
            "L": "/", "M": "/"}[variant]
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-H", f"User-Agent: {UA}"]
    if variant in "bf":
        cmd += ["-H", f"Cookie: __Host-sso={token}"]
    if variant in PEER_VARIANTS:
        # As ../shared/peers/llng/bench.sh sends them; the handler's server block answers test1.example.com.
        cmd += ["-H", "Host: test1.example.com", "-H", f"Cookie: lemonldap={token}"]
    if variant in "dg":
        cmd += ["-s", str(lua).replace(".lua", "-cached.lua") if variant == "g" else str(lua)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    # wrk shares the cores: its own CPU (a Lua request() per request in (d) and (g), fixed headers elsewhere) is read
    # from this process's reaped children, which during the run are wrk alone.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    out = done.stdout
    if "Requests/sec" not in out or "99%" not in out:
        print(f"wrk exited {done.returncode}: {out[-800:]} {done.stderr[-400:]}", file=sys.stderr, flush=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    # Percentiles from the "Latency Distribution" block only: the Req/Sec line above it ends in a "+/- Stdev" like
    # "70.50%", which a loose pattern would take for the 50th percentile.
    distribution = out.split("Latency Distribution", 1)[1]
    p50 = to_ms(re.search(r"^\s*50%\s+(\S+)", distribution, re.M).group(1))
    p99 = to_ms(re.search(r"^\s*99%\s+(\S+)", distribution, re.M).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"rps": rps, "p50": p50, "p99": p99, "total": total, "non2xx": non2xx, "errors": errors,
            "us_wrk": wrk_seconds * 1e6 / max(1, total)}


def chain_timing(stack, iterations):
    """The first-access chain and the SSO hop, hop by hop over kept-alive HTTPS connections; the user's hash is
    bcrypt cost 4, so the password hash is not what is measured."""
    ctx = ssl.create_default_context(cafile=str(stack.ca))
    conns = {}

    def request(method, url, cookies, body=None):
        u = urlsplit(url)
        if u.hostname not in conns:
            sock = socket.create_connection(("127.0.0.1", u.port))
            # http.client writes headers and body separately: without this, Nagle + delayed ACK add ~40 ms to a POST.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
            c.sock = ctx.wrap_socket(sock, server_hostname=u.hostname)
            conns[u.hostname] = c
        c = conns[u.hostname]
        headers = {"User-Agent": UA, "Accept": "text/html"}
        jar = cookies.setdefault(u.hostname, {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        c.request(method, u.path + (("?" + u.query) if u.query else ""), body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        elapsed = (time.perf_counter() - start) * 1000
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                jar[name] = rest.split(";")[0]
        loc = r.getheader("Location")
        return r.status, (requests_join(url, loc) if loc else None), data, elapsed

    def requests_join(base, loc):
        from urllib.parse import urljoin
        return urljoin(base, loc)

    first, sso = [], []
    for _ in range(iterations):
        cookies = {}
        hops = []
        status, loc, _, t = request("GET", stack.infusion + "/x", cookies); hops.append(("app -> 302 noCookie", t))
        status, loc, _, t = request("GET", loc, cookies); hops.append(("noCookie -> 302 copyCookie", t))
        status, _, page, t = request("GET", loc, cookies); hops.append(("copyCookie -> sign-in form", t))
        # Every field the form carries (csrf, redirectURL, the hand-off's state), then the credentials.
        fields = {m.group(1).decode(): html.unescape(m.group(2).decode())
                  for m in re.finditer(rb'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)}
        fields.update(username="alice", password="wonderland")
        body = urlencode(fields).encode()
        status, loc, _, t = request("POST", stack.accounts + "/login", cookies, body); hops.append(("login POST -> 302", t))
        status, loc, _, t = request("GET", loc, cookies); hops.append(("copyCookie -> 302 requestID", t))
        status, loc, _, t = request("GET", loc, cookies); hops.append(("requestID redemption -> 302", t))
        status, _, _, t = request("GET", loc, cookies); hops.append(("app (checked) -> 200", t))
        assert status == 200, status
        first.append(hops)
        hops = []
        status, loc, _, t = request("GET", stack.dextor + "/y", cookies); hops.append(("app -> 302 noCookie", t))
        status, loc, _, t = request("GET", loc, cookies); hops.append(("noCookie -> 302 copyCookie", t))
        status, loc, _, t = request("GET", loc, cookies); hops.append(("copyCookie -> 302 requestID", t))
        status, loc, _, t = request("GET", loc, cookies); hops.append(("requestID redemption -> 302", t))
        status, _, _, t = request("GET", loc, cookies); hops.append(("app (checked) -> 200", t))
        assert status == 200, status
        sso.append(hops)
    for c in conns.values():
        c.close()
    return first, sso


def median_hops(runs):
    names = [h[0] for h in runs[0]]
    return [(n, statistics.median(r[i][1] for r in runs)) for i, n in enumerate(names)]


def print_hops(title, runs, total_label):
    print(("\n" if "First" in title else "") + title)
    total = 0
    for name, ms in median_hops(runs):
        total += ms
        print(f"  {name:<32} {ms:6.2f}")
    print(f"  {total_label:<32} {total:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="AppAuthFCGI worker threads per process (default: the program's own, the number of cores)")
    parser.add_argument("--processes", type=int, default=1,
                        help="AppAuthFCGI worker processes under its supervisor (default 1, the config's default; 0: one "
                             "process, no supervisor)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=YAML",
                        help="a config key over the bench's own, for an A/B of one lever, e.g. --set app_auth.allowed_users=[]")
    parser.add_argument("--soak", type=int, default=1_000_000, help="checked requests before the last RSS reading")
    parser.add_argument("--memcached", choices=["tcp", "unix", "pool3"], default="tcp",
                        help="how AppAuthFCGI reaches memcached: 127.0.0.1 TCP, a unix socket, or a pool of three on "
                             "127.0.0.1 with replicas 1 (default tcp)")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help="which variants to run, comma-separated (default a,c,e,b,d; also f,g: the decision cache; c "
                             "is always run for the ratios)")
    parser.add_argument("--connections", default="16,64", help="wrk connection counts, comma-separated (default 16,64)")
    parser.add_argument("--server", choices=["nginx", "apache"], default="nginx",
                        help="the web server in front: nginx auth_request (default) or Apache 2.4 mod_authnz_fcgi (no (c): "
                             "the ratios are then over (a), Apache's own static ceiling)")
    parser.add_argument("--sched", choices=["normal", "batch"], default="normal",
                        help="AppAuthFCGI's CPU scheduling policy: normal (default, as the unit ships) or batch (run under "
                             "`chrt --batch 0`, as the opt-in drop-in CPUSchedulingPolicy=batch of docs/runtime.md does)")
    parser.add_argument("--peer", choices=["llng"],
                        help="also run LemonLDAP::NG's FastCGI handler behind the same nginx, interleaved: (L) caches "
                             "warm, (M) caches off (../shared/peers/llng; scripts/peer_llng.py)")
    args = parser.parse_args()
    base = "a" if args.server == "apache" else "c"
    if args.server == "apache":
        LABELS.update(b="(b) authorizer -> AppAuthFCGI, 1 session", e="(e) authorizer -> FastCGI hop (403 page)")
    variants = [v for v in VARIANTS if (v in args.variants.split(",") or v == base) and not (v == "c" and args.server == "apache")]
    if any(v in CACHED for v in variants) and args.server != "nginx":
        parser.error("(f) and (g) are nginx's decision cache: Apache has none")
    if args.peer:
        if args.server != "nginx":
            parser.error("--peer llng runs behind nginx (the peer's own setup)")
        variants += PEER_VARIANTS
    connection_counts = [int(c) for c in args.connections.split(",")]

    state = Path(tempfile.mkdtemp(prefix="sso-bench-"))
    # nginx's workers run as the web server's user: the static files must be theirs to read.
    os.chmod(state, 0o755)
    static = state / "static"
    static.mkdir(mode=0o755)
    for name in ("a.txt", "b.txt", "c.txt", "e.txt", "f.txt"):
        (static / name).write_text("The same small static file, 100 bytes long, for every variant of the benchmark!!!!!!!!!!!!!!!!\n")
    port = free_port()
    # alice with a bcrypt cost-4 hash: the chain timing measures the SSO, not the password hash.
    hashed = subprocess.run(["htpasswd", "-nbB", "-C", "4", "alice", "wonderland"], capture_output=True, text=True).stdout
    (state / "users.yaml").write_text("users:\n  - username: alice\n    password_hash: '" + hashed.strip().split(":", 1)[1] +
                                      "'\n    name: Alice\n    email: alice@iqueue.test\n    services: [infusion, dextor]\n")
    # critical: (e) is refused on purpose on every request, and logging each would be measured too.
    overrides = {"appauth_workers": args.workers, "max_failures": 1000, "memcached_unix": args.memcached == "unix",
                 "config": {"app_auth.processes": args.processes},
                 "appauth_prefix": ["chrt", "--batch", "0"] if args.sched == "batch" else []}
    cache_dir = None
    if any(v in CACHED for v in variants):
        # The decision cache's folder on a tmpfs, as docs/nginx.md advises (a file is written per miss); nginx makes it
        # 0700 for its workers. Only /_sso/auth_cached (f, g) uses it.
        cache_dir = Path(tempfile.mkdtemp(prefix="sso-bench-cache-", dir="/dev/shm"))
        os.chmod(cache_dir, 0o755)
        overrides["config"].update({"decision_cache.seconds": DECISION_CACHE_SECONDS,
                                    "decision_cache.path": str(cache_dir / "auth-cache")})
    for item in args.set:
        key, _, value = item.partition("=")
        overrides["config"][key] = yaml.safe_load(value)
    extra = [free_port(), free_port()] if args.memcached == "pool3" else []
    if args.server == "apache":
        overrides["site"] = {"apache": {"append": ""}}
        # Both processes from the start, 80 threads in all: 64 connections each get a thread (with 50, Apache closed
        # kept-alive connections under load and wrk counted thousands of read errors at 64 connections).
        overrides.update(apache_start_servers=2, apache_threads=40)
    stack = Stack(state, args.bin, server=args.server, overrides=overrides, log_level="critical")
    if extra:
        # Three servers, every item on two of them (ReplicatedStore): what replicas cost.
        overrides["config"].update({"memcached.servers": [f"127.0.0.1:{p}" for p in [stack.memcached_port] + extra],
                                    "memcached.replicas": 1})
        stack.extra_memcached_ports = extra
    if args.server == "apache":
        overrides["site"]["apache"]["append"] = apache_bench_site(stack, port, static)
    else:
        stack.extra_http = bench_server(stack, port, static)
    peer = None
    if args.peer:
        from peer_llng import LLNGPeer
        peer = stack.peer = LLNGPeer(stack)
        peer.prepare()
        stack.extra_http += peer.nginx_servers()
    try:
        for n, extra_port in enumerate(extra, start=2):
            stack.spawn(f"memcached{n}", ["memcached", "-l", "127.0.0.1", "-p", str(extra_port), "-U", "0", "-m", "64", "-t", "2"]
                        + (["-u", "root"] if os.geteuid() == 0 else []))
        if peer:
            peer.start_backends()
        stack.start()
        if peer:
            peer.sign_in()
    except BaseException:
        stack.stop()
        raise
    try:
        mint = [str(Path(args.bin) / "SSOBench"), "--config", str(stack.config_path), "--user-agent", UA]
        one = subprocess.run(mint + ["--count", "1"], capture_output=True, text=True, check=True).stdout.strip()
        many = state / "tokens.txt"
        many.write_text(subprocess.run(mint + ["--count", str(args.sessions)], capture_output=True, text=True, check=True).stdout)
        lua = state / "sessions.lua"
        lua_text = sessions_lua(many)
        lua.write_text(lua_text)
        # (g): each wrk thread starts at its own place in the list. Unseeded, math.random gives every thread the same
        # start, so the threads would ask for the same token at the same moment: two misses at once, then nothing
        # for a whole pass, which is no browser's pattern and halves what the cache can do.
        (state / "sessions-cached.lua").write_text(lua_text.replace('"/b.txt"', '"/f.txt"').replace(
            "init = function(args)", "local n = 0\nsetup = function(thread)\n  n = n + 1\n  thread:set(\"start\", n)\nend\n"
            "init = function(args)").replace("  i = math.random(#tokens)", "  i = math.floor((start - 1) * #tokens / 2) + math.random(#tokens)"))
        pid = stack.procs["appauth"].pid
        memory_start = memory_kb(pid)
        rss_start = memory_start["rss"]
        threads = args.workers or os.cpu_count()
        print(f"AppAuthFCGI: supervisor + {len(with_children(pid)) - 1} worker processes of {threads} threads "
              f"(CPU and memory below are theirs together); "
              + ("nginx worker_processes 2" if args.server == "nginx" else "Apache mpm_event, 2 processes of 40 threads")
              + f"; AppAuthFCGI's CPU scheduling policy {args.sched}; wrk -t2; {args.seconds} s per run; "
              f"{args.rounds} rounds; {os.cpu_count()} cores")
        print(f"AppAuthFCGI RSS at start: {describe_memory(memory_start)}   (built from {args.bin})")
        # Warm-up: the first time each of the 10,000 tokens is seen, its signature is verified (Ed25519, ~100 us) and
        # kept in the verified-token cache; later checks skip that but still read the session from memcached.
        for v in [v for v in ("d", "g") if v in variants]:
            r = wrk(stack, port, v, 16, max(3, args.seconds), one, lua)
            print(f"warm-up  c=16 {LABELS[v]:<42} {r['rps']:>9.0f} req/s  p99 {r['p99']:6.2f} ms  (every token's "
                  f"signature verified for the first time)" if v == "d" else "", flush=True)
        # The peer's caches (its handler's in-process session cache, its config cache) warmed as bench.sh warms them:
        # a short run of each of its variants before the rounds.
        for v in [v for v in variants if v in PEER_VARIANTS]:
            r = wrk(stack, port, v, 16, 3, one, lua)
            print(f"warm-up  c=16 {LABELS[v]:<42} {r['rps']:>9.0f} req/s  p99 {r['p99']:6.2f} ms", flush=True)
        results = {}
        checked = 0
        measured = 0
        ops_checked = 0
        for rnd in range(1, args.rounds + 1):
            for conns in connection_counts:
                for v in variants:
                    r = wrk(stack, port, v, conns, args.seconds, one, lua)
                    results.setdefault((conns, v), []).append(r)
                    if v in "bdfg":
                        checked += r["total"]
                    if v in "bd":
                        measured += r["total"]
                        ops_checked += r["mc_ops"]
                    print(f"round {rnd} c={conns:>2} {LABELS[v]:<42} {r['rps']:>9.0f} req/s  p50 {r['p50']:6.2f} ms  "
                          f"p99 {r['p99']:6.2f} ms  non-2xx {r['non2xx']}{' (403 by design)' if v == 'e' else ''}  "
                          f"errors {r['errors']}"
                          + (f"  memcached ops/req {r['mc_ops'] / max(1, r['total']):.3f}" if v in "bdfg" else "")
                          + (f"  checks/req {r['checks'] / max(1, r['total']):.3f}" if v in "fg" else "")
                          + f"  CPU us/req {args.server} {r['us_nginx']:.1f} appauth {r['us_appauth']:.1f} "
                            f"memcached {r['us_memcached']:.1f}"
                          + (f" peer {r['us_peer']:.1f}" if peer else "") + f" (wrk {r['us_wrk']:.1f})", flush=True)
        rss_mid = memory_kb(pid)["rss"]
        while checked < args.soak:
            r = wrk(stack, port, "d", 64, 10, one, lua)
            checked += r["total"]
        memory_end = memory_kb(pid)
        rss_end = memory_end["rss"]

        print("\nSummary (median of rounds)")
        print(f"{'':>4} {'variant':<42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7}")
        summary = {}
        for conns in connection_counts:
            for v in variants:
                rs = results[(conns, v)]
                s = {k: statistics.median(x[k] for x in rs) for k in ("rps", "p50", "p99")}
                s["non2xx"] = sum(x["non2xx"] for x in rs)
                s["errors"] = sum(x["errors"] for x in rs)
                summary[(conns, v)] = s
                print(f"c={conns:>2} {LABELS[v]:<42} {s['rps']:>9.0f} {s['p50']:>8.2f} {s['p99']:>8.2f} {s['non2xx']:>8} {s['errors']:>7}")
            c = summary[(conns, base)]["rps"]
            ratios = [f"{v}/{base} = {summary[(conns, v)]['rps'] / c:.2f}" for v in ("b", "d", "f", "g", "e", "L", "M") if (conns, v) in summary]
            if (conns, "e") in summary:
                ratios += [f"{v}/e = {summary[(conns, v)]['rps'] / summary[(conns, 'e')]['rps']:.2f}"
                           for v in ("b", "d") if (conns, v) in summary]
            for peer_variant in PEER_VARIANTS:
                if (conns, peer_variant) in summary:
                    ratios += [f"{v}/{peer_variant} = {summary[(conns, v)]['rps'] / summary[(conns, peer_variant)]['rps']:.1f}"
                               for v in ("b", "d") if (conns, v) in summary]
            targets = ("b/a >= 0.3" if base == "a" else "b/e >= 0.8, d/e >= 0.75") + (", b/L >= 10" if peer else "") \
                + (", f/c >= 0.6 (decision cache)" if (conns, "f") in summary else "")
            print(f"c={conns:>2} ratios: " + "   ".join(ratios) + f"   (issue 15: {targets}; e is the hop alone)")
            if (conns, "b") in summary:
                print(f"c={conns:>2} p99 of (b) / p99 of ({base}) = {summary[(conns, 'b')]['p99'] / summary[(conns, base)]['p99']:.2f}"
                      f"   (issue 15: <= 1.5 at 16 connections)")
        print("\nCPU time per request, microseconds (median of rounds; wrk, the load generator on the same cores, is shown "
              "apart and not in the total)")
        groups = PROCESS_GROUPS if peer else PROCESS_GROUPS[:3]
        heads = {"nginx": args.server, "appauth": "AppAuth", "memcached": "memcached", "peer": "LLNG+mc"}
        print(f"{'':>4} {'variant':<42} " + " ".join(f"{heads[k]:>9}" for k in groups) + f" {'total':>9} {'wrk':>9}")
        for conns in connection_counts:
            for v in variants:
                rs = results[(conns, v)]
                us = {k: statistics.median(x["us_" + k] for x in rs) for k in groups}
                wrk_us = statistics.median(x["us_wrk"] for x in rs)
                print(f"c={conns:>2} {LABELS[v]:<42} " + " ".join(f"{us[k]:>9.1f}" for k in groups)
                      + f" {sum(us.values()):>9.1f} {wrk_us:>9.1f}")
        print()
        for v in [v for v in "fg" if any(var == v for (_, var) in results)]:
            for conns in connection_counts:
                rs = results[(conns, v)]
                total = max(1, sum(x["total"] for x in rs))
                rate = 1 - sum(x["checks"] for x in rs) / total
                print(f"c={conns:>2} {LABELS[v]}: AppAuthFCGI checks per request {1 - rate:.3f}, so {rate:.1%} answered from "
                      f"nginx's cache (entries live up to {DECISION_CACHE_SECONDS} s)")
        for v in "bd":
            runs = [x for (conns, var), rs in results.items() if var == v for x in rs]
            if runs:
                total = max(1, sum(x["total"] for x in runs))
                print(f"memcached operations per checked request, {LABELS[v]}: "
                      f"{sum(x['mc_ops'] for x in runs) / total:.3f}  (session reads {sum(x['mc_gets'] for x in runs) / total:.3f}, "
                      f"last-access writes {sum(x['mc_sets'] for x in runs) / total:.3f})")
        print(f"memcached operations per checked request, b and d together: {ops_checked / max(1, measured):.3f}"
              f"   (target <= 1; each session's LAST_ACCESSED_TIME is written at most once per 60 s: with steady traffic, "
              f"sessions / (60 s x req/s) writes per request)")
        print(f"AppAuthFCGI RSS: start {rss_start / 1024:.1f} MB, after the rounds {rss_mid / 1024:.1f} MB, "
              f"after {checked:,} checked requests {rss_end / 1024:.1f} MB: end/start {rss_end / max(1, rss_start):.2f}, "
              f"end/after the rounds {rss_end / max(1, rss_mid):.2f}   (target <= 20 MB, flat within 10%)")
        print(f"AppAuthFCGI memory at the end: RSS {describe_memory(memory_end)}; shared pages "
              f"{memory_end['shared'] / 1024:.1f} MB")

        if args.server != "nginx":
            print("\n(the redirect chain is timed through nginx only: Apache closes the kept-alive connection the timing reuses)")
            return
        first, sso = chain_timing(stack, 20)
        print_hops("First access, hop by hop (median of 20, ms, kept-alive HTTPS, bcrypt cost 4 for the password):", first, "whole chain")
        print_hops("SSO hop into the second domain (no password):", sso, "whole hop")
    finally:
        stack.stop()
        if cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
