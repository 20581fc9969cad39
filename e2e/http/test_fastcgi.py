"""The FastCGI runtime itself: keep-alive from nginx, several requests on one connection, SIGTERM drains requests in
flight and exits 0, malformed input is refused without a crash, the AUTHORIZER role."""
import os
import signal
import socket
import subprocess
import time

import pytest

import fcgi_client as fc
from helpers import BIN, Browser
from ssostack import free_port


def env(stack, host="infusion.iqueue.test", uri="/", **extra):
    base = {"REQUEST_METHOD": "GET", "REQUEST_URI": uri, "HTTP_HOST": f"{host}:{stack.https_port}", "HTTPS": "on",
            "SERVER_NAME": host, "SERVER_PORT": str(stack.https_port),
            "REQUEST_SCHEME": "https", "HTTP_USER_AGENT": "fcgi-test", "REMOTE_ADDR": "127.0.0.1"}
    base.update(extra)
    return base


@pytest.fixture(params=[2, 0], ids=["supervised", "one-process"])
def appauth(stack, tmp_path, request):
    """A separate AppAuthFCGI on its own unix socket, sharing the stack's config and memcached: under a supervisor with
    two worker processes (the default), and as one process (processes: 0). These tests talk to the program directly,
    so the web server in front plays no part: they run once, with the nginx stack."""
    if stack.server != "nginx":
        pytest.skip("talks to AppAuthFCGI directly, not through the web server: covered once under nginx")
    sock = tmp_path / "own.sock"
    proc = subprocess.Popen([BIN / "AppAuthFCGI", "--config", stack.config_path, "--listen", f"unix:{sock}", "--workers", "2",
                             "--processes", str(request.param)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while not sock.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert sock.exists()
    yield proc, str(sock)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def connected_entries(path):
    return [line for line in open("/proc/net/unix") if line.rstrip().endswith(str(path)) and line.split()[5] == "03"]


def test_nginx_reuses_kept_alive_fastcgi_connections(stack):
    """Responder traffic (accounts, the sign-in path) runs over kept-alive FastCGI connections. nginx itself closes the
    connection after an auth_request subrequest (header-only: it finalises before reading FCGI_END_REQUEST), so the
    auth check gets a fresh unix-socket connection per request; see docs/nginx.md."""
    if stack.server != "nginx":
        pytest.skip("nginx upstream keepalive over unix sockets; Apache's mod_authnz_fcgi has no connection reuse and "
                    "the Apache site uses TCP (mod_authnz_fcgi speaks nothing else): see docs/apache.md")
    b = Browser(stack)
    for _ in range(30):
        assert b.get(stack.accounts + "/healthz").status_code == 200
    entries = connected_entries(stack.accounts_socket)
    # 30 requests, yet only the connections nginx keeps (keepalive 2 per nginx worker) are open, idle.
    assert 1 <= len(entries) <= 4, len(entries)
    for _ in range(10):
        assert b.get(stack.infusion + "/k").status_code == 302  # auth_request (401) then @sso_signin
    assert 1 <= len(connected_entries(stack.appauth_socket)) <= 8


def test_several_requests_on_one_kept_alive_connection(stack, appauth):
    _, sock = appauth
    with fc.connect(sock) as s:
        for i in range(3):
            s.sendall(fc.begin(keep_conn=True) + fc.params(env(stack, uri=f"/n{i}")) + fc.stdin(b""))
            status, headers, _ = fc.read_response(s)
            assert status == 302 and f"%2Fn{i}" in headers["location"][0]


def test_two_requests_sent_at_once_on_a_kept_alive_connection_are_both_answered(stack, appauth):
    """A request without a body is read off the socket to its last byte and no further (DirectExchange): the next one,
    already there, is still whole for the next look. (libfcgi reads ahead into its buffer and dropped it.)"""
    _, sock = appauth
    with fc.connect(sock) as s:
        s.settimeout(5)
        s.sendall(b"".join(fc.begin(keep_conn=True) + fc.params(env(stack, uri=f"/p{i}")) + fc.stdin(b"") for i in range(2)))
        pending = bytearray()
        for i in range(2):
            status, headers, _ = fc.read_response(s, pending)
            assert status == 302 and f"%2Fp{i}" in headers["location"][0]


def test_sigterm_finishes_the_request_in_flight_and_exits_0(stack, appauth):
    proc, sock = appauth
    s = fc.connect(sock)
    body = b"0123456789"
    s.sendall(fc.begin() + fc.params(env(stack, REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body)))) + fc.stdin(body[:5], end=False))
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert proc.poll() is None, "exited with a request in flight"
    with pytest.raises(OSError):
        fc.connect(sock).close()  # no longer accepting
    s.sendall(fc.stdin(body[5:]))
    status, headers, _ = fc.read_response(s)
    s.close()
    # A POST on the sign-in path is kept for after sign-in (303 and a replay cookie), then sent to accounts.
    assert status == 303 and "noCookie" in headers["location"][0] and "set-cookie" in headers
    assert proc.wait(10) == 0
    log = proc.stdout.read().decode()
    assert "stopping" in log and "stopped" in log


def test_malformed_input_is_refused_and_the_server_keeps_serving(stack, appauth):
    proc, sock = appauth
    attacks = [
        b"\x00" * 50,                                             # garbage records
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                     # not FastCGI at all
        fc.begin() + fc.record(fc.PARAMS, b"\x7f\x05abc"),        # a params pair that claims more bytes than it has
        fc.begin() + fc.record(fc.PARAMS, b"\xff\xff\xff\xff"),   # a huge 4-byte length
        fc.begin()[:5],                                           # a truncated header
    ]
    for attack in attacks:
        with fc.connect(sock) as s:
            s.sendall(attack)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
        assert proc.poll() is None, attack
    # Non-UTF-8 bytes in params, an oversized params block, an oversized body, a cookie full of junk.
    odd = env(stack, uri="/caf\udce9")
    odd_bytes = fc.begin() + fc.record(fc.PARAMS, fc.pair(b"REQUEST_URI", b"/caf\xe9\xff") + fc.pair(b"SERVER_NAME", b"infusion.iqueue.test") + fc.pair(b"SERVER_PORT", str(stack.https_port).encode()) + fc.pair(b"HTTPS", b"on")) + fc.record(fc.PARAMS) + fc.stdin(b"")
    with fc.connect(sock) as s:
        s.sendall(odd_bytes)
        status, _, _ = fc.read_response(s)
        assert status in (302, 400)
    status, _, _ = fc.request(sock, env(stack, HTTP_X_FILLER="x" * 70000))
    assert status == 431
    # An over-limit body is never kept; accounts refuses it with 413. Past the limit and a 64 KiB margin, it is refused with 413 before being read (CONTENT_LENGTH says so up front).
    status, headers, _ = fc.request(sock, env(stack, REQUEST_METHOD="POST", CONTENT_LENGTH=str(2 << 20)), body=b"z" * (2 << 20))
    assert status == 413
    # Within the margin, it is read, not kept, and the sign-in path says so after sign-in (303 and a replay cookie).
    over = (1 << 20) + 1000
    status, headers, _ = fc.request(sock, env(stack, REQUEST_METHOD="POST", CONTENT_LENGTH=str(over)), body=b"z" * over)
    assert status == 303 and any(c.startswith("__Host-sso_replay=") for c in headers["set-cookie"])
    status, _, _ = fc.request(str(stack.accounts_socket), env(stack, host="accounts.iqueue.test", uri="/login", REQUEST_METHOD="POST",
                                                              CONTENT_LENGTH=str(2 << 20)), body=b"z" * (2 << 20))
    assert status == 413
    status, _, _ = fc.request(sock, env(stack, HTTP_COOKIE="__Host-sso=%%%; ;;=;a==b; __Host-sso=\xff"))
    assert status == 302
    status, _, _ = fc.request(sock, env(stack, host="unknown.example"))
    assert status == 403
    assert proc.poll() is None
    # Still serving.
    status, headers, _ = fc.request(sock, env(stack, uri="/fine"))
    assert status == 302 and "%2Ffine" in headers["location"][0]


def test_authorizer_role(stack, appauth):
    _, sock = appauth
    status, headers, _ = fc.request(sock, env(stack, uri="/a"), role="AUTHORIZER")
    assert status == 302 and "/noCookie?redirectURL=" in headers["location"][0]
    b = Browser(stack, user_agent="fcgi-test")
    b.sign_in(stack.infusion + "/")
    token = b.cookie("infusion.iqueue.test").value
    status, headers, _ = fc.request(sock, env(stack, uri="/a", HTTP_COOKIE=f"__Host-sso={token}"), role="AUTHORIZER")
    assert status == 200
    assert headers["variable-sso_user"] == ["alice"]
    assert headers["variable-sso_email"] == ["alice@iqueue.test"]


def test_check_config_reports_problems(tmp_path, stack):
    if stack.server != "nginx":
        pytest.skip("runs the executables alone; no web server involved: covered once under nginx")
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts_url: http://x\nmemcached: {servers: [nope]}\nservices:\n  - name: a\n    origins: [ftp://a]\n    idle_timeout: -1\ntypo_key: 1\n")
    for binary in ("AccountsFCGI", "AppAuthFCGI"):
        r = subprocess.run([BIN / binary, "--config", bad, "--check-config"], capture_output=True, text=True)
        assert r.returncode != 0
        assert "typo_key" in r.stderr
    bad.write_text("accounts_url: http://x\nmemcached: {servers: [nope]}\nservices:\n  - name: a\n    origins: [ftp://a]\n    idle_timeout: -1\n")
    r = subprocess.run([BIN / "AppAuthFCGI", "--config", bad, "--check-config"], capture_output=True, text=True)
    assert r.returncode != 0
    for expected in ("accounts_url", "memcached.servers[0]", "services[0].origins[0]", "services[0].idle_timeout", "keys.list", "users_file"):
        assert expected in r.stderr, (expected, r.stderr)
    for binary in ("AccountsFCGI", "AppAuthFCGI"):
        r = subprocess.run([BIN / binary, "--config", stack.config_path, "--check-config"], capture_output=True, text=True)
        assert r.returncode == 0 and "OK" in r.stdout, r.stderr


def test_listens_on_an_inherited_socket_as_fd_0(stack, tmp_path):
    """spawn-fcgi and systemd socket activation hand the program a listening socket as fd 0."""
    if stack.server != "nginx":
        pytest.skip("runs the executable alone; no web server involved: covered once under nginx")
    path = str(tmp_path / "inherited.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    proc = subprocess.Popen([BIN / "AppAuthFCGI", "--config", stack.config_path, "--listen", "fd:0", "--workers", "1"],
                            stdin=listener.fileno(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    listener.close()
    try:
        status, headers, _ = fc.request(path, env(stack, uri="/via-fd0"))
        assert status == 302 and "%2Fvia-fd0" in headers["location"][0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
def test_an_over_limit_body_is_read_only_a_bounded_amount(stack, appauth, declared):
    """A body past limits.max_body_bytes (1 MiB here) and a 64 KiB margin is answered 413 and only 64 KiB of it is read
    while the connection closes, not the 256 MiB read before on an anonymous request's behalf. The sender sees how much
    it could write before the connection was gone. A body with no CONTENT_LENGTH (chunked, as a client may send it) is
    counted as it comes: read up to the limit and the margin, then refused the same way."""
    _, sock = appauth
    total = 16 << 20
    length = {"CONTENT_LENGTH": str(total)} if declared else {"HTTP_TRANSFER_ENCODING": "chunked"}
    head = fc.begin() + fc.params(env(stack, REQUEST_METHOD="POST", **length))
    sent = 0
    with fc.connect(sock) as s:
        s.sendall(head)
        chunk = fc.stdin(b"z" * 60_000, end=False)
        try:
            while sent < total:
                s.sendall(chunk)
                sent += 60_000
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, headers, _ = fc.read_response(s)
    assert status == 413
    # Nothing read for a body declared past the limit and its margin, then 64 KiB dropped while closing, plus what the
    # two socket buffers hold; an undeclared one, the limit and the margin first.
    assert sent < (1 << 20 if declared else 3 << 20), sent


@pytest.fixture
def appauth_tcp(stack):
    """A separate AppAuthFCGI on a loopback TCP port, as Apache's mod_authnz_fcgi reaches it (nginx stack only: these
    tests talk to the program directly)."""
    if stack.server != "nginx":
        pytest.skip("talks to AppAuthFCGI directly, not through the web server: covered once under nginx")
    port = free_port()
    proc = subprocess.Popen([BIN / "AppAuthFCGI", "--config", stack.config_path, "--listen", f"127.0.0.1:{port}",
                             "--workers", "2", "--processes", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    listening = False
    while not listening and time.time() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            listening = True
        except OSError:
            time.sleep(0.05)
    if not listening:
        proc.kill()
        pytest.fail(f"AppAuthFCGI did not listen on 127.0.0.1:{port}: {proc.communicate()[0].decode(errors='replace')[-2000:]}")
    yield proc, ("127.0.0.1", port)
    proc.kill()
    proc.wait()


def test_a_check_sent_in_three_writes_is_answered_when_its_last_byte_comes(stack, appauth_tcp):
    """mod_authnz_fcgi sends an AUTHORIZER request in three writes over TCP (BEGIN_REQUEST, the params, the empty params
    record). A request still incomplete used to wait for the reaper's next look, whose pause doubles to 250 ms while
    the request stays incomplete: every check through Apache that was read before its last write waited. Now a TCP
    connection waits in epoll with its receive low-water mark just above what it has, and is read as the rest comes.
    Five connections send their last record one after the other, 50 ms after the one before was answered: by then the
    reaper looked every 250 ms, so each waited up to 250 ms (about 1 s in all, measured on the old code); answered as
    their bytes come, they add up to a few milliseconds."""
    _, address = appauth_tcp
    parts = [fc.begin("AUTHORIZER"), fc.params(env(stack))[:-8], fc.record(fc.PARAMS)]
    conns = [fc.connect(address) for _ in range(5)]
    for s in conns:
        s.sendall(parts[0])
    time.sleep(0.3)
    for s in conns:
        s.sendall(parts[1])
    time.sleep(0.3)
    waits = []
    for s in conns:
        s.sendall(parts[2])
        sent = time.monotonic()
        status, _, _ = fc.read_response(s)
        waits.append(time.monotonic() - sent)
        assert status == 302  # no session: sent to sign in, as through Apache
        s.close()
        time.sleep(0.05)
    print(f"\nwaits after the last write: {', '.join(f'{w * 1000:.1f} ms' for w in waits)}")
    assert sum(waits) < 0.2, waits
