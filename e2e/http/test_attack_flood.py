"""Bodies read and kept on behalf of requests that are not signed in are bounded: a chunked body cannot stream without
limit into the sign-in path, and a flood of submissions cannot fill memcached and push other people's sessions out."""
import concurrent.futures
import socket
import ssl

import requests

from helpers import Browser


def chunked_post(stack, host, path, total, chunk=1 << 20):
    """POSTs `total` bytes as a chunked body without a session; returns the status line's code (or None when the
    server closed the connection before answering)."""
    context = ssl.create_default_context(cafile=str(stack.ca))
    with socket.create_connection(("127.0.0.1", stack.https_port), timeout=60) as tcp:
        with context.wrap_socket(tcp, server_hostname=host) as tls:
            tls.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}:{stack.https_port}\r\nTransfer-Encoding: chunked\r\n"
                         f"Content-Type: application/x-www-form-urlencoded\r\nOrigin: https://{host}:{stack.https_port}\r\n"
                         "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: navigate\r\nAccept: text/html\r\n"
                         "Connection: close\r\n\r\n").encode())
            sent = 0
            block = f"{chunk:x}\r\n".encode() + b"a" * chunk + b"\r\n"
            try:
                while sent < total:
                    tls.sendall(block)
                    sent += chunk
                tls.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server gave up reading: what we want
            try:
                head = tls.recv(4096)
            except OSError:
                return None
            return int(head.split()[1]) if head.startswith(b"HTTP/") else None


def test_a_chunked_body_without_a_session_is_bounded(stack):
    """Without a session, a form goes to the sign-in path (nginx @sso_signin, Apache's /_sso/capture), which must not
    read an endless chunked body."""
    path = "/_sso/capture?to=%2Fforms" if stack.server == "apache" else "/forms/upload"
    status = chunked_post(stack, "infusion.iqueue.test", path, total=48 << 20)
    assert status in (413, None), status


def test_a_flood_of_submissions_cannot_push_sessions_out(stack):
    """An attacker with his own expired session floods the app with forms to be kept; memcached (64 MiB here) must
    not fill up with them, and alice's idle session stays."""
    alice = Browser(stack)
    assert alice.sign_in(stack.infusion + "/").status_code == 200
    bob = Browser(stack)
    bob.sign_in(stack.infusion + "/", "bob", "builder")
    bob.sign_out()
    body = b"x=" + b"y" * ((1 << 20) - 64)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": stack.infusion,
               "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}

    def post(i):
        url = stack.infusion + f"/forms/{i}"
        r = bob.session.post(url, data=body, headers=headers, allow_redirects=False, timeout=30)
        if r.status_code == 307:  # Apache: the browser re-sends the form to /_sso/capture, where it is kept
            r = bob.session.post(requests.compat.urljoin(url, r.headers["Location"]), data=body, headers=headers,
                                 allow_redirects=False, timeout=30)
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(post, range(160)))
    assert all(s in (303, 413, 429) for s in statuses), set(statuses)
    stats = memcached_stats(stack)
    assert int(stats["evictions"]) == 0, stats["evictions"]
    assert int(stats["bytes"]) < 24 << 20, stats["bytes"]  # what was kept is bounded, far below the 64 MiB
    assert alice.get(stack.infusion + "/still").status_code == 200


def memcached_stats(stack):
    with socket.create_connection(("127.0.0.1", stack.memcached_port), timeout=5) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += s.recv(65536)
    return dict(line.split()[1:3] for line in data.decode().splitlines() if line.startswith("STAT "))
