#!/usr/bin/env python3
"""User-space instructions per auth check, deterministic: AppAuthFCGI (release build, a `strip --strip-debug` copy)
under valgrind's callgrind, with `processes: 0` (valgrind cannot follow the supervisor's re-exec) and one worker
thread, sent N checks over its unix socket with **the params nginx sends for `/_sso/auth`**: Debian's
`fastcgi_params`, `nginx/sso-fastcgi.conf` and the location's own params (repeated ones repeated, as nginx sends
them), plus the `HTTP_*` params of a browser-like request (Chrome's headers on a page load, a few cookies besides the
session's). About 40 params, 1.4 KB.

  /usr/bin/python3 scripts/callgrind_check.py [--bin .build/release] [--checks 2000] [--hop] [--sessions N] [--top 30]

(b) by default: one valid session, 200. `--hop`: (e), the origin is not registered, an empty 403 before any JWT or
memcached work. `--sessions N`: (d), the checks cycle through N signed-in sessions (their last accesses spread over
the past interval, as scripts/bench's), each checked once before the counters are zeroed, so every signature is
already verified, as in the bench's rounds after its warm-up. The counters are zeroed after 50 warm-up checks and dumped right after the N checks, so start-up and
shutdown are not in the figure. Prints instructions per check and, with --top, the functions that cost most
(self cost). Not a test: it proves nothing by itself.
"""
import argparse
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))
import fcgi_client as fc  # noqa: E402
from ssostack import ROOT, Stack  # noqa: E402

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")


def nginx_params(origin, token, hop):
    """The params, in nginx's order, for a GET of /reports/q3?page=2 checked through `location = /_sso/auth`."""
    host = origin.split("://", 1)[1].rsplit(":", 1)[0]
    port = origin.rsplit(":", 1)[1]
    sso_origin = "https://not-registered.invalid:443" if hop else origin
    pairs = [
        # fastcgi_params (Debian), as the auth subrequest sees them
        ("QUERY_STRING", ""), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
        ("SCRIPT_NAME", "/_sso/auth"), ("REQUEST_URI", "/reports/q3?page=2"), ("DOCUMENT_URI", "/_sso/auth"),
        ("DOCUMENT_ROOT", "/usr/share/nginx/html"), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "https"),
        ("HTTPS", "on"), ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx/1.22.1"),
        ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "52814"), ("REMOTE_USER", ""), ("SERVER_ADDR", "127.0.0.1"),
        ("SERVER_PORT", port), ("SERVER_NAME", host), ("REDIRECT_STATUS", "200"), ("HTTP_HOST", host),
        # nginx/sso-fastcgi.conf
        ("REQUEST_SCHEME", "https"), ("HTTP_HOST", f"{host}:{port}"),
        # nginx/sso-auth-location.conf
        ("SSO_ORIGIN", sso_origin), ("SSO_ACTION", "check"), ("CONTENT_LENGTH", ""), ("CONTENT_TYPE", ""),
        # the browser's headers (Host is not passed again: a fastcgi_param names it)
        ("HTTP_CONNECTION", "keep-alive"),
        ("HTTP_SEC_CH_UA", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'),
        ("HTTP_SEC_CH_UA_MOBILE", "?0"), ("HTTP_SEC_CH_UA_PLATFORM", '"Linux"'),
        ("HTTP_UPGRADE_INSECURE_REQUESTS", "1"), ("HTTP_USER_AGENT", UA),
        ("HTTP_ACCEPT", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,"
                        "*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"),
        ("HTTP_SEC_FETCH_SITE", "same-origin"), ("HTTP_SEC_FETCH_MODE", "navigate"), ("HTTP_SEC_FETCH_USER", "?1"),
        ("HTTP_SEC_FETCH_DEST", "document"), ("HTTP_REFERER", f"{origin}/reports/"),
        ("HTTP_ACCEPT_ENCODING", "gzip, deflate, br, zstd"), ("HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.9,fr;q=0.8"),
        ("HTTP_COOKIE", f"_ga=GA1.1.1234567890.1732350000; theme=dark; __Host-sso={token}; "
                        "_ga_X1Y2Z3=GS1.1.1732350000.3.1.1732350400.0.0.0"),
    ]
    return pairs


def request(sock_path, pairs):
    body = b"".join(fc.pair(k.encode(), v.encode()) for k, v in pairs)
    s = fc.connect(sock_path)
    try:
        s.sendall(fc.begin() + fc.record(fc.PARAMS, body) + fc.record(fc.PARAMS, b"") + fc.stdin(b""))
        return fc.read_response(s)
    finally:
        s.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--hop", action="store_true", help="(e): an unregistered origin, the bare hop")
    parser.add_argument("--sessions", type=int, default=1, help="(d): cycle through this many sessions (default 1)")
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="sso-callgrind-")
    stack = Stack(state, args.bin, server="nginx", log_level="critical", overrides={"config": {"app_auth.processes": 0}})
    stack.start()
    vg = None
    try:
        tokens = subprocess.run([str(Path(args.bin) / "SSOBench"), "--config", str(stack.config_path), "--count",
                                 str(args.sessions), "--user-agent", UA], capture_output=True, text=True,
                                check=True).stdout.split()
        sock, out, binary = state + "/cg.sock", state + "/cg.out", state + "/AppAuthFCGI"
        subprocess.run(["cp", str(Path(args.bin) / "AppAuthFCGI"), binary], check=True)
        subprocess.run(["strip", "--strip-debug", binary], check=True)
        vg = subprocess.Popen(["valgrind", "--tool=callgrind", "--compress-strings=no", "--compress-pos=no",
                               f"--callgrind-out-file={out}", binary, "--config", str(stack.config_path),
                               "--listen", "unix:" + sock, "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=open(state + "/vg.err", "w"))
        deadline = time.time() + 120
        while not os.path.exists(sock):
            assert vg.poll() is None and time.time() < deadline, open(state + "/vg.err").read()[-2000:]
            time.sleep(0.2)
        requests = [nginx_params(stack.infusion, token, args.hop) for token in tokens]
        want = 403 if args.hop else 200
        for i in range(max(50, len(requests))):
            assert request(sock, requests[i % len(requests)])[0] == want
        subprocess.run(["callgrind_control", "-z", str(vg.pid)], check=True, capture_output=True)
        for i in range(args.checks):
            status = request(sock, requests[i % len(requests)])[0]
            assert status == want, status
        subprocess.run(["callgrind_control", "-d", str(vg.pid)], check=True, capture_output=True)
        dumps = sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
        report = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", dumps[-1]],
                                capture_output=True, text=True).stdout
        lines = report.splitlines()
        pairs = requests[0]
        size = sum(len(k) + len(v) + 2 for k, v in pairs)
        name = "e" if args.hop else "b" if args.sessions == 1 else f"d, {args.sessions} sessions"
        for line in lines:
            if "PROGRAM TOTALS" in line:
                total = int(line.split()[0].replace(",", ""))
                print(f"({name}) {len(pairs)} params, {size} bytes: {total:,} instructions for "
                      f"{args.checks} checks, {total // args.checks:,} per check")
        if args.top:
            # The worker thread's frames still running at the dump (clone ... FastCGIServer.run) are listed with
            # every cost below them: they are left out, so what is shown is self cost.
            start = [i for i, line in enumerate(lines) if "file:function" in line]
            if start:
                rows = [line for line in lines[start[0] + 2:] if line.strip() and "(100.0%)" not in line]
                print("\n".join(rows[:args.top]))
    finally:
        if vg is not None and vg.poll() is None:
            vg.send_signal(signal.SIGTERM)
            try:
                vg.wait(timeout=30)
            except subprocess.TimeoutExpired:
                vg.kill()
                vg.wait()
        stack.stop()


if __name__ == "__main__":
    main()
