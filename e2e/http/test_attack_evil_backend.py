"""One app behind the proxy cannot take AppAuthFCGI down: when a kept submission is delivered, the app's answer is
parsed by AppAuthFCGI, and a hostile answer (a chunk size near Int.max, a never-ending header, tens of thousands of
header fields) gets a 502 page while the process (each worker process too) and its other users carry on."""
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from helpers import SERVERS, Browser, ended_report, make_stack, program_pids

ANSWERS = {
    "/evil/chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\nabc\r\n0\r\n\r\n",
    "/evil/length": b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
    "/evil/status": b"HTTP/1.1 99999999999999999999 OK\r\n\r\n",
    # 70,000 header fields in 280 kB: the HTTP field list AppAuthFCGI builds traps past 65,534 of them.
    "/evil/fields": b"HTTP/1.1 200 OK\r\n" + b"a: b\r\n" * 70_000 + b"Content-Length: 2\r\n\r\nok",
    # A head of 8 MiB of bare line feeds (inside max_response_bytes): split into lines whole, it took ~0.5 GB.
    "/evil/head": b"HTTP/1.1 200 OK\r\n" + b"\n" * (8 << 20) + b"\r\n\r\nok",
    # One byte every 0.5 s for 30 s: each read well within the timeout, the whole answer far beyond it.
    "/evil/trickle": None,
}
TRICKLE_SECONDS = 30
BACKEND_TIMEOUT = 3


class EvilApp:
    """An app that answers every request with the hostile answer for its path, then closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                path = data.split(b" ", 2)[1].decode() if data.count(b" ") >= 2 else "/"
                answer = ANSWERS.get(path.split("?")[0], ANSWERS["/evil/chunk"])
                try:
                    if answer is None:
                        for _ in range(TRICKLE_SECONDS * 2):
                            conn.sendall(b"x")
                            time.sleep(0.5)
                    else:
                        conn.sendall(answer)
                except OSError:  # the program gave up and closed: what a bounded reader does
                    pass


@pytest.fixture(scope="module", params=SERVERS)
def evil(request, tmp_root):
    app = EvilApp()
    s = make_stack(tmp_root, request.param, config={"request_cache.backend_timeout": BACKEND_TIMEOUT}, site={
        "nginx": {"infusion.iqueue.test": f"""
    location /evil/ {{
        include sso/sso-protect.conf;
        set $sso_backend http://127.0.0.1:{app.port};
        proxy_pass http://127.0.0.1:{app.port};
    }}
"""},
        "apache": {"infusion.iqueue.test": f"""
    <Location "/evil/">
        SetEnv SSO_BACKEND "http://127.0.0.1:{app.port}"
    </Location>
"""}})
    s.start()
    yield s
    s.stop()
    app.sock.close()


def peak_rss_kb(pids):
    """The peak resident memory (VmHWM) of these processes together, in kB."""
    return sum(int(line.split()[1]) for pid in pids for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmHWM:"))


@pytest.mark.parametrize("path", sorted(ANSWERS))
def test_a_hostile_answer_to_a_replay_is_a_502_and_nothing_else(evil, path):
    appauth = program_pids(evil, "appauth")
    peak = peak_rss_kb(appauth)
    b = Browser(evil)
    assert b.sign_in(evil.infusion + "/").status_code == 200
    assert b.sign_out().status_code == 200
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": evil.infusion,
               "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
    form, _ = b.navigate("POST", evil.infusion + path, b"a=1", headers)
    r = b.submit_login(form, "alice", "wonderland")
    started = time.time()
    final, _ = b.navigate("GET", requests.compat.urljoin(evil.accounts, r.headers["Location"]))
    took = time.time() - started
    assert final.status_code == 502, (final.status_code, final.text[:300])
    # The whole exchange is bounded by backend_timeout, however the app spaces its bytes (it held a worker thread for
    # the 30 s of the trickle); and no answer costs a worker more than a little memory at its peak.
    assert took < BACKEND_TIMEOUT + 3, took
    grown = peak_rss_kb(appauth) - peak
    assert grown < 64 * 1024, f"peak RSS grew {grown} kB"
    assert program_pids(evil, "appauth") == appauth, "a process ended or was replaced:\n" + ended_report(evil, ["appauth"])
    assert b.get(evil.infusion + "/fine").status_code == 200
