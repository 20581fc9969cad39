"""Attacks on the flow: hostile redirectURLs, forged and tampered tokens, requestID misuse, cookie replay."""
import base64
import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from helpers import Browser, form_fields


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hostile_redirects(stack):
    port = stack.https_port
    good = stack.infusion
    return [
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "https:evil.example",
        "https:/evil.example/",
        "https://evil.example/",
        f"https://evil.example:{port}/",
        f"https://user@infusion.iqueue.test:{port}/",
        f"https://infusion.iqueue.test:{port}@evil.example/",
        f"https://infusion.iqueue.test:{port}%40evil.example/",
        f"https://infusion.iqueue.test:{port}\\@evil.example/",
        f"https://infusion.iqueue.test:{port + 1 if port < 65535 else port - 1}/",
        "https://infusion.iqueue.test/",
        f"http://infusion.iqueue.test:{port}/",
        f"https://infusion.iqueue.test.evil.example:{port}/",
        f"https://evilinfusion.iqueue.test:{port}/",
        f"https://infusion.iqueue.test:{port}.evil.example/",
        f"https://xinfusion.iqueue.test:{port}/",
        f"https://infusion.iqueue.tes:{port}/",
        f"https://infusion.iqueue.test:{port}//evil.example/",
        f"\thttps://infusion.iqueue.test:{port}/",
        f"https://infusion.iqueue.test:{port}/\r\nSet-Cookie: x=1",
        f"https://infus\tion.iqueue.test:{port}/",
        f"https://infusion.iqueue.test:{port}/\x00",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.domain)//" + good,
        "data:text/html,<script>alert(1)</script>",
        f"ftp://infusion.iqueue.test:{port}/",
        f" https://infusion.iqueue.test:{port}/",
        f"https://INFUSION.iqueue.test:{port}\u3002evil.example/",
        f"https://[::1]:{port}/",
        f"https://127.0.0.1:{port}/",
        "",
        "/relative/path",
    ]


def test_at_least_20_hostile_redirect_urls_are_refused(stack):
    b = Browser(stack)
    values = hostile_redirects(stack)
    assert len(values) >= 20
    for value in values:
        for path in ("/noCookie", "/copyCookie", "/login"):
            r = b.get(stack.accounts + path + "?redirectURL=" + quote(value, safe=""))
            if path == "/login" and value == "":
                assert r.status_code == 200  # the plain sign-in page
                continue
            assert r.status_code == 400, (path, value, r.status_code, r.headers.get("Location"))
            assert "Location" not in r.headers
            assert "This link cannot be used" in r.text


def test_hostile_redirect_in_login_post_is_refused(stack):
    b = Browser(stack)
    form, _ = b.follow(stack.infusion + "/")
    fields = {k: v for k, v in form_fields(form.text).items()}
    fields.update(username="alice", password="wonderland", redirectURL="https://evil.example/")
    r = b.post(stack.accounts + "/login", data=fields)
    assert r.status_code == 400 and "Location" not in r.headers


def test_a_quote_in_a_reflected_value_never_leaves_its_attribute(stack):
    """The pages put what a request carried into HTML attributes: the user name typed (the forged-form page shows it
    again), the address to return to (the sign-in and sign-out forms' hidden fields). Another site can post or link
    anything there; a `"` must never close the attribute and add one of the attacker's (the page's CSP is then the
    only barrier left)."""
    b = Browser(stack)
    r = b.post(stack.accounts + "/login", data={"csrf": "x", "username": 'x" autofocus onfocus="alert(1)', "password": "p"})
    assert r.status_code == 403, r.status_code
    assert 'onfocus="alert(1)' not in r.text and "x&quot; autofocus" in r.text, [l for l in r.text.splitlines() if "username" in l]
    evil = stack.infusion + '/x"><svg/onload=alert(1)>'
    for path in ("/logout", "/login", "/copyCookie"):
        r = b.get(stack.accounts + path + "?redirectURL=" + quote(evil, safe=""))
        assert r.status_code in (200, 302, 400), (path, r.status_code)
        assert '"><svg' not in r.text, (path, [l for l in r.text.splitlines() if "svg" in l])
    form, _ = b.follow(stack.infusion + '/y"><svg/onload=alert(1)>')
    assert 'name="password"' in form.text and '"><svg' not in form.text


def test_good_redirect_keeps_path_and_query(stack):
    b = Browser(stack)
    target = stack.dextor + "/a/b?c=d&e=%2F#frag"
    r = b.get(stack.accounts + "/noCookie?redirectURL=" + quote(target, safe=""))
    assert r.status_code == 302
    assert r.headers["Location"] == "/copyCookie?redirectURL=" + quote(target, safe="")


def signed_in_token(stack):
    b = Browser(stack)
    b.sign_in(stack.infusion + "/")
    return b, b.cookie("infusion.iqueue.test").value


def with_cookie(stack, host, token, user_agent=None):
    b = Browser(stack) if user_agent is None else Browser(stack, user_agent=user_agent)
    b.session.cookies.set("__Host-sso", token, domain=host, path="/")
    return b


def assert_refused(stack, token, host="infusion.iqueue.test"):
    r = with_cookie(stack, host, token).get(stack.origin(host) + "/")
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"], r.status_code


def test_tampered_tokens_are_refused(stack):
    _, token = signed_in_token(stack)
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    # The payload changed, the signature kept.
    forged = dict(claims, sub="bob")
    assert_refused(stack, header + "." + b64(json.dumps(forged).encode()) + "." + signature)
    # A flipped signature byte.
    sig = bytearray(unb64(signature))
    sig[0] ^= 1
    assert_refused(stack, header + "." + payload + "." + b64(bytes(sig)))
    # Non-canonical base64url (padding) and garbage.
    assert_refused(stack, token + "=")
    assert_refused(stack, "not.a.jwt")
    assert_refused(stack, "a" * 7000 + "." + "b" * 100 + ".c")
    # Larger than the web server's header buffers: refused before it reaches the check.
    r = with_cookie(stack, "infusion.iqueue.test", "a" * 20000).get(stack.infusion + "/")
    assert r.status_code in (302, 400, 431, 494)
    assert_refused(stack, "....")


def test_alg_none_and_algorithm_confusion_are_refused(stack):
    _, token = signed_in_token(stack)
    header, payload, _ = token.split(".")
    kid = json.loads(unb64(header))["kid"]
    for alg in ("none", "None", "NONE", ""):
        h = b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
        assert_refused(stack, h + "." + payload + ".")
        assert_refused(stack, h + "." + payload)
    # HS256 keyed with the public key's PEM (the classic confusion attack).
    public_pem = (Path(stack.state) / "keys" / "ed25519.pub.pem").read_bytes()
    h = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    mac = hmac.new(public_pem, (h + "." + payload).encode(), hashlib.sha256).digest()
    assert_refused(stack, h + "." + payload + "." + b64(mac))
    # ES256 header on the EdDSA key, and an unknown kid.
    h = b64(json.dumps({"alg": "ES256", "kid": kid}).encode())
    assert_refused(stack, h + "." + payload + "." + token.split(".")[2])
    h = b64(json.dumps({"alg": "EdDSA", "kid": "other"}).encode())
    assert_refused(stack, h + "." + payload + "." + token.split(".")[2])


def test_fingerprint_mismatch_is_refused(stack):
    _, token = signed_in_token(stack)
    same = with_cookie(stack, "infusion.iqueue.test", token)
    assert same.get(stack.infusion + "/").status_code == 200
    other = with_cookie(stack, "infusion.iqueue.test", token, user_agent="curl/8.0 (stolen cookie)")
    r = other.get(stack.infusion + "/")
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]


def test_request_id_is_single_use(stack, browser):
    browser.sign_in(stack.infusion + "/")
    location = browser.request_id_link(stack.dextor + "/x")
    r = browser.get(location)
    assert r.status_code == 302 and r.headers["Location"] == stack.dextor + "/x"
    assert browser.cookie("dextor.leantaas.test") is not None
    # Used: the same browser, without the cookie it got, cannot use the link again.
    browser.session.cookies.clear(domain="dextor.leantaas.test", path="/", name="__Host-sso")
    r = browser.get(location)
    assert r.status_code == 302 and "/noCookie?redirectURL=" + quote(stack.dextor + "/x", safe="") in r.headers["Location"]
    assert browser.cookie("dextor.leantaas.test") is None


def test_request_id_at_the_wrong_origin_is_refused_and_burned(stack, browser):
    browser.sign_in(stack.infusion + "/")
    browser.session.cookies.clear(domain="infusion.iqueue.test", path="/", name="__Host-sso")
    location = browser.request_id_link(stack.infusion + "/x")
    request_id = parse_qs(urlsplit(location).query)["requestID"][0]
    r = browser.get(stack.dextor + "/x?requestID=" + request_id)
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]
    assert "requestID" not in r.headers["Location"]
    assert browser.cookie("dextor.leantaas.test") is None
    # Burned: not redeemable at its own origin either.
    r = browser.get(location)
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]
    assert browser.cookie("infusion.iqueue.test") is None


@pytest.mark.parametrize("garbage", ["", "x", "not-a-uuid", "../../etc/passwd", "%00", "a" * 300, "😀", "a b", "%ZZ"])
def test_garbage_request_ids_start_a_fresh_sign_in(stack, garbage):
    r = Browser(stack).get(stack.infusion + "/p?requestID=" + garbage)
    assert r.status_code in (302, 400), r.status_code
    if r.status_code == 302:
        assert r.headers["Location"].startswith(stack.accounts + "/noCookie?redirectURL=")
        assert "requestID" not in r.headers["Location"]


def test_request_id_with_a_valid_cookie_just_drops_the_parameter(stack, browser):
    browser.sign_in(stack.infusion + "/")
    r = browser.get(stack.infusion + "/p?a=1&requestID=00000000-0000-4000-8000-000000000000")
    assert r.status_code == 302 and r.headers["Location"] == stack.infusion + "/p?a=1"
