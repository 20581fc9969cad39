"""A logout that lands between an auth check's session read and its LAST_ACCESSED_TIME write must not be undone by
that write (issue 11). A proxy in front of memcached holds every session write back for a moment, so the logout's
delete arrives in between, every time, through the real web server and both FastCGI programs."""
import socket
import threading
import time

import pytest

from helpers import SERVERS, Browser, form_fields, make_stack

HOLD = 0.8  # seconds each session write is held back


class HoldingProxy:
    """Forwards TCP to memcached; a client chunk that starts a storage command (set, cas, add) for a session key
    (`sso:s:`) waits HOLD seconds first. Reads and deletes pass at once."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.target = None
        self.held = 0
        self.closing = False

    def start(self, target_port):
        self.target = target_port
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, False), daemon=True).start()

    def pump(self, source, sink, from_client):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and data.split(b" ", 1)[0] in (b"set", b"cas", b"add") and b" sso:s:" in data[:80]:
                    self.held += 1
                    time.sleep(HOLD)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closing = True
        self.listener.close()


@pytest.fixture(scope="module", params=SERVERS)
def held_stack(request, tmp_root):
    proxy = HoldingProxy()
    # LAST_ACCESSED_TIME is written once a second, so a check a second after sign-in writes it; memcached may take
    # longer than HOLD to answer.
    s = make_stack(tmp_root, request.param, last_access_interval=1,
                   config={"memcached.servers": [f"127.0.0.1:{proxy.port}"], "memcached.poll_timeout_ms": 3000})
    proxy.start(s.memcached_port)
    s.start()
    yield s, proxy
    s.stop()
    proxy.close()


def log_out(browser):
    """Logout as the accounts host offers it: the GET itself, or the form that the GET shows."""
    r = browser.get(browser.stack.accounts + "/logout")
    if r.status_code == 200 and 'action="/logout"' in r.text:
        r = browser.post(browser.stack.accounts + "/logout", data=form_fields(r.text))
    assert r.status_code in (200, 302, 303), r.status_code
    assert browser.cookie("accounts.iqueue.test") is None or browser.cookie("accounts.iqueue.test").value == ""


@pytest.mark.parametrize("app", ["infusion", "dextor"])
def test_last_access_write_after_logout_does_not_sign_the_user_back_in(held_stack, app):
    stack, proxy = held_stack
    b = Browser(stack)
    origin = getattr(stack, app)
    assert b.sign_in(origin + "/").status_code == 200
    time.sleep(1.2)  # the next check is due to write LAST_ACCESSED_TIME
    held_before = proxy.held
    during = {}
    check = threading.Thread(target=lambda: during.setdefault("r", b.get(origin + "/during")))
    check.start()
    time.sleep(HOLD / 3)  # the check has read the session; its write is held at the proxy
    log_out(b)
    check.join(10)
    assert proxy.held > held_before, "the check wrote no LAST_ACCESSED_TIME: the race did not happen"
    after = b.get(origin + "/after")
    assert after.status_code == 302, f"signed in again after logout: {after.status_code}"
    assert "/noCookie" in after.headers["Location"]
