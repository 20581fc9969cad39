"""Header lines as the client sent them: a request with two `Cookie:` lines is read the same in either order, and a
header value that is not UTF-8 reaches the app byte for byte after a kept request is replayed, as it does without the
replay. Through nginx and Apache."""
import http.client
import socket
import ssl

import pytest

from helpers import Browser

FORM = "/forms/bytes?x=1"


def raw_get(stack, host, path, header_lines):
    """A GET over HTTP/1.1 with exactly these header lines (repeats kept), returns (status, body)."""
    ctx = ssl.create_default_context(cafile=str(stack.ca))
    sock = socket.create_connection(("127.0.0.1", stack.https_port), timeout=10)
    conn = http.client.HTTPSConnection(host, stack.https_port, context=ctx)
    conn.sock = ctx.wrap_socket(sock, server_hostname=host)
    conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", f"{host}:{stack.https_port}")
    for name, value in header_lines:
        conn.putheader(name, value)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


@pytest.mark.parametrize("order", ["session-first", "session-last"])
def test_two_cookie_lines_are_read_in_either_order(stack, order):
    """nginx passes each Cookie line as its own HTTP_COOKIE param: before, the last one replaced the others, so the
    session cookie counted only when it came last. Apache joins the lines with ", ", which a cookie value may hold
    (test_attack_cookie_comma.py): there the request is not signed in, in either order (no browser sends two lines)."""
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    token = b.cookie("infusion.iqueue.test").value
    lines = [("Cookie", f"__Host-sso={token}"), ("Cookie", "theme=dark; lang=fr")]
    if order == "session-last":
        lines.reverse()
    common = [("User-Agent", b.session.headers["User-Agent"]), ("Accept", "text/html")]
    status, body = raw_get(stack, "infusion.iqueue.test", "/two-lines", common + lines)
    if stack.server == "apache":
        assert status == 302, body[:300]
        return
    assert status == 200, body[:300]
    import json
    echo = json.loads(body)
    assert echo["headers"]["x-remote-user"] == "alice"


def test_a_header_that_is_not_utf8_is_replayed_byte_for_byte(stack):
    """A Content-Type carrying byte 0xFF: the app receives it unchanged when the form is sent signed in; kept across a
    sign-in and replayed, it used to arrive as U+FFFD (the bytes EF BF BD)."""
    content_type = "application/x-www-form-urlencoded; note=caf\xe9\xff"  # sent as latin-1: bytes E9 FF
    body = b"a=1&b=2"
    headers = {"Content-Type": content_type, "Origin": stack.infusion, "Sec-Fetch-Site": "same-origin",
               "Sec-Fetch-Mode": "navigate"}
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/forms/new").status_code == 200
    direct, _ = b.navigate("POST", stack.infusion + FORM, body, headers)
    assert direct.status_code == 200
    sent_as_is = direct.json()["headers"]["content-type"]   # the echo app reads header bytes as latin-1
    assert sent_as_is == content_type

    # The session ends (logout at accounts); the same form is kept, the user signs in again, it is replayed.
    b.sign_out()
    form, hops = b.navigate("POST", stack.infusion + FORM, body, headers)
    assert form.status_code == 200 and 'name="password"' in form.text, (form.status_code, hops)
    r = b.submit_login(form, "alice", "wonderland")
    assert r.status_code == 302
    import requests
    final, _ = b.navigate("GET", requests.compat.urljoin(stack.accounts, r.headers["Location"]))
    assert final.status_code == 200, final.text[:300]
    echo = final.json()
    assert echo["method"] == "POST" and echo["uri"] == FORM
    assert echo["headers"]["content-type"] == sent_as_is
