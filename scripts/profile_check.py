#!/usr/bin/env python3
"""Where AppAuthFCGI's CPU time goes during a bench variant: `perf record` (Debian's linux-perf) on AppAuthFCGI's
processes while wrk runs (b) (or another variant) against the same server scripts/bench builds, then a summary by
shared object and the top symbols, kernel included. Prints figures; proves nothing by itself.

  /usr/bin/python3 scripts/profile_check.py [--variant a|b|d|e] [--seconds 12] [--connections 16] [--bin .build/release]
      [--server nginx|apache] [--process appauth|web]

--server apache puts Apache 2.4 + mod_authnz_fcgi in front, as `scripts/bench --server apache` does; --process web
profiles (or counts) the web server's processes instead of AppAuthFCGI's.

For a deterministic count of user-space instructions per check (no kernel, no noise), see callgrind (valgrind).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  the bench's server and helpers, one definition
from ssostack import ROOT, Stack, free_port  # noqa: E402


WEB_SYSCALLS = ["read", "readv", "write", "writev", "sendfile64", "recvfrom", "sendto", "recvmsg", "sendmsg", "socket",
                "connect", "accept4", "shutdown", "close", "poll", "ppoll", "epoll_wait", "epoll_ctl", "futex", "openat",
                "newfstatat", "statx", "getsockopt", "setsockopt", "getsockname", "getpeername", "fcntl", "ioctl",
                "mmap", "munmap", "brk", "madvise", "mprotect", "lseek", "pread64", "times", "getpid", "gettid"]


def raise_open_files():
    """perf stat opens one descriptor per event per thread: Apache's 80 threads need more than the default 1,024."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    parser.add_argument("--variant", default="b", choices=["a", "b", "d", "e"])
    parser.add_argument("--sessions", type=int, default=10_000, help="(d): distinct signed-in sessions (as scripts/bench)")
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None, help="threads per process (default: the program's, the cores)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--server", choices=["nginx", "apache"], default="nginx")
    parser.add_argument("--process", choices=["appauth", "web"], default="appauth",
                        help="whose CPU time: AppAuthFCGI's (default) or the web server's")
    parser.add_argument("--count", action="store_true",
                        help="instead of sampling: count AppAuthFCGI's system calls and context switches per request "
                             "(perf stat), which the machine's load does not change")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="sso-profile-"))
    os.chmod(state, 0o755)
    static = state / "static"
    static.mkdir(mode=0o755)
    for name in ("a.txt", "b.txt", "c.txt", "e.txt"):
        (static / name).write_text("x" * 99 + "\n")
    port = free_port()
    overrides = {"appauth_workers": args.workers, "max_failures": 1000, "config": {"app_auth.processes": 1}}
    if args.server == "apache":
        # As scripts/bench --server apache: both processes from the start, 80 threads in all.
        overrides.update(site={"apache": {"append": ""}}, apache_start_servers=2, apache_threads=40)
    stack = Stack(state, args.bin, server=args.server, overrides=overrides, log_level="critical")
    if args.server == "apache":
        overrides["site"]["apache"]["append"] = bench.apache_bench_site(stack, port, static)
    else:
        stack.extra_http = bench.bench_server(stack, port, static)
    stack.start()
    try:
        token = subprocess.run([str(Path(args.bin) / "SSOBench"), "--config", str(stack.config_path), "--user-agent", bench.UA,
                                "--count", "1"], capture_output=True, text=True, check=True).stdout.strip()
        lua = None
        if args.variant == "d":
            many = state / "tokens.txt"
            many.write_text(subprocess.run([str(Path(args.bin) / "SSOBench"), "--config", str(stack.config_path),
                                            "--user-agent", bench.UA, "--count", str(args.sessions)],
                                           capture_output=True, text=True, check=True).stdout)
            lua = state / "sessions.lua"
            lua.write_text(bench.sessions_lua(many))
            # As scripts/bench's warm-up: every token's signature verified once before the measured run.
            bench.wrk(stack, port, "d", args.connections, 4, token, lua)
        web = "apache" if args.server == "apache" else "nginx"
        pids = bench.with_children(stack.procs["appauth" if args.process == "appauth" else web].pid)
        result = {}
        load = threading.Thread(target=lambda: result.update(
            bench.wrk(stack, port, args.variant, args.connections, args.seconds, token, lua)))
        load.start()
        data = state / "perf.data"
        record = max(3, args.seconds - 4)
        if not args.count:
            subprocess.run(["sleep", "2"])
        if args.count:
            # Every system call for AppAuthFCGI's few threads; for Apache's 80 (one descriptor per event and thread) the
            # calls a request can make.
            events = "context-switches," + ("syscalls:sys_enter_*" if args.process == "appauth" else ",".join(
                "syscalls:sys_enter_" + name for name in WEB_SYSCALLS))
            # Counted over the whole wrk run (started before it, ends after it), so per request is exact.
            counted = subprocess.run(["perf", "stat", "-x", ",", "-e", events, "-p",
                                      ",".join(map(str, pids)), "--", "sleep", str(args.seconds + 2)],
                                     capture_output=True, text=True, preexec_fn=raise_open_files)
        else:
            subprocess.run(["perf", "record", "-q", "-g", "-o", str(data), "-p", ",".join(map(str, pids)), "--", "sleep",
                            str(record)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load.join()
        if args.count:
            total = max(1, result.get("total", 1))
            if counted.returncode != 0:
                sys.exit(f"perf stat failed: {counted.stderr.strip()[:500]}")
            print(f"variant ({args.variant}) c={args.connections} via {args.server}, {args.process}: "
                  f"{result.get('total', 0)} requests; per request:")
            for line in counted.stderr.splitlines():
                parts = line.split(",")
                if len(parts) > 3 and parts[0].strip().isdigit() and int(parts[0]) > total // 20:
                    print(f"  {int(parts[0]) / total:7.2f}  {parts[2].replace('syscalls:sys_enter_', '')}")
            return
        print(f"variant ({args.variant}) c={args.connections} via {args.server}: {result.get('rps', 0):.0f} req/s, AppAuthFCGI "
              f"{result.get('us_appauth', 0):.1f} us CPU per request, {args.server} {result.get('us_nginx', 0):.1f}, memcached "
              f"{result.get('us_memcached', 0):.1f}; perf of {args.process} over {record} s of it")
        for sort in ("dso", "sym"):
            out = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", sort, "--stdio",
                                  "--percent-limit", "0.5", "-g", "none"], capture_output=True, text=True).stdout
            lines = [l for l in out.splitlines() if l.strip() and not l.startswith("#")]
            print(f"\n-- by {sort} --")
            print("\n".join(lines[:args.top]))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
