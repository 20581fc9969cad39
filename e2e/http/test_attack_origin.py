"""The origin a check is made for comes from the web server's configuration, never from the client's Host header.

The attack: bob is registered for infusion only. He asks dextor's virtual host for a page with an absolute request line
(which selects the server) and `Host: infusion…` (which the web server passes on as HTTP_HOST). If the check took the
origin from Host it would check bob's cookie for infusion, say yes, and dextor's app would serve bob."""
import json

from helpers import Browser, raw_https


def test_a_forged_host_header_does_not_choose_the_service(stack):
    bob = Browser(stack)
    assert bob.sign_in(stack.infusion + "/", "bob", "builder").json()["headers"]["x-remote-user"] == "bob"
    cookie = "; ".join(f"{c.name}={c.value}" for c in bob.session.cookies if c.domain.lstrip(".") == "infusion.iqueue.test")
    request = (f"GET {stack.dextor}/secret HTTP/1.1\r\nHost: infusion.iqueue.test:{stack.https_port}\r\n"
               f"User-Agent: {bob.session.headers['User-Agent']}\r\nAccept: text/html\r\nCookie: {cookie}\r\n"
               "Connection: close\r\n\r\n").encode()
    status, headers, body = raw_https(stack, "dextor.leantaas.test", request)
    reached_app = status == 200 and body.startswith(b"{") and json.loads(body).get("app") == "dextor"
    assert not reached_app, "bob reached dextor's app with infusion's cookie"
    assert status in (302, 400, 403, 421), status
