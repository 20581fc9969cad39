"""Request caching across re-authentication (the WebSEAL seed): a form sent after the session ended reaches the app,
rebuilt byte for byte, after one sign-in; exactly once; never to another browser or user; and what cannot be kept is
said on a page, never silently dropped. Runs through nginx and Apache."""
import hashlib
import json
import time

import pytest
import requests

from helpers import SERVERS, Browser, make_stack

FORM = "/forms/submit?draft=7&lang=fr"


@pytest.fixture(scope="module", params=SERVERS)
def cstack(request, tmp_root):
    """A stack that keeps bodies up to 256 KiB (so the over-limit case stays small)."""
    s = make_stack(tmp_root, request.param, cache_max_body=256 * 1024)
    s.start()
    yield s
    s.stop()


def same_origin(stack, content_type, extra=None):
    headers = {"Content-Type": content_type, "Origin": stack.infusion, "Sec-Fetch-Site": "same-origin",
               "Sec-Fetch-Mode": "navigate", "Referer": stack.infusion + "/forms/new", "X-Draft-Note": "kept header"}
    headers.update(extra or {})
    return headers


def expired_browser(stack, user="alice", password="wonderland", user_agent=None):
    """Signed in to infusion, then signed out at accounts: the infusion cookie is still there, its session is gone."""
    b = Browser(stack) if user_agent is None else Browser(stack, user_agent=user_agent)
    assert b.sign_in(stack.infusion + "/forms/new", user, password).status_code == 200
    assert b.sign_out().status_code == 200
    r = b.get(stack.infusion + "/forms/new")
    assert r.status_code == 302 and "/noCookie?" in r.headers["Location"]
    return b


def submit_then_sign_in(stack, b, body, content_type, user="alice", password="wonderland", extra=None):
    """Sends the form with the session ended, signs in on the page it lands on, returns the final response."""
    form, hops = b.navigate("POST", stack.infusion + FORM, body, same_origin(stack, content_type, extra))
    assert form.status_code == 200 and 'name="password"' in form.text, (form.status_code, hops)
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is not None
    r = b.submit_login(form, user, password)
    assert r.status_code == 302
    final, hops = b.navigate("GET", requests.compat.urljoin(stack.accounts, r.headers["Location"]))
    return final


def assert_delivered(stack, final, body, content_type):
    assert final.status_code == 200, final.text[:400]
    echo = final.json()
    assert echo["method"] == "POST"
    assert echo["uri"] == FORM
    assert echo["headers"]["content-type"] == content_type
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert int(echo["headers"]["content-length"]) == len(body)
    assert echo["headers"]["x-remote-user"] == "alice"
    assert "x-draft-note" not in echo["headers"]  # a header no browser form sends is not replayed
    assert echo["headers"]["origin"] == stack.infusion
    assert echo["headers"]["referer"] == stack.infusion + "/forms/new"
    assert "__Host-sso_replay" not in echo["headers"].get("cookie", "")
    return echo


def test_urlencoded_form_with_non_ascii_and_repeated_keys(cstack):
    body = "name=Zo%C3%AB+Saldana&tag=a&tag=b&tag=a&note=caf%C3%A9+cr%C3%A8me+br%C3%BBl%C3%A9e&emoji=%F0%9F%98%80&empty=".encode()
    b = expired_browser(cstack)
    final = submit_then_sign_in(cstack, b, body, "application/x-www-form-urlencoded")
    echo = assert_delivered(cstack, final, body, "application/x-www-form-urlencoded")
    assert echo["body"] == body.decode()
    # Exactly once: the replay cookie is gone and a reload is an ordinary GET.
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is None
    again = b.get(cstack.infusion + FORM)
    assert again.status_code == 200 and again.json()["method"] == "GET" and again.json()["body"] == ""


def test_pretty_printed_json_body(cstack):
    body = json.dumps({"title": "Résumé", "lines": ["a", "b\nc"], "n": 7, "ok": True}, indent=2, ensure_ascii=False).encode()
    assert b"\n" in body
    final = submit_then_sign_in(cstack, expired_browser(cstack), body, "application/json; charset=utf-8")
    assert_delivered(cstack, final, body, "application/json; charset=utf-8")


def test_multipart_form_with_a_small_binary_file(cstack):
    boundary = "----sso-test-boundary-7MA4YWxkTrZu0gW"
    file_bytes = bytes(range(256)) * 8 + b"\r\n--not-the-boundary\r\n\x00\xff"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nQuarterly r\u00e9sum\u00e9\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"data.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + file_bytes + f"\r\n--{boundary}--\r\n".encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    final = submit_then_sign_in(cstack, expired_browser(cstack), body, content_type)
    assert_delivered(cstack, final, body, content_type)


def test_the_replay_forwards_what_the_web_server_would(cstack):
    """The forwarding headers a client sends are replaced on the way to the app (nginx's proxy_set_header, Apache's
    RequestHeader); a kept form must not carry the client's own to the app when it is replayed (nginx captured them
    before they were replaced). The replayed request says what the same form sent signed in says."""
    spoof = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9",
             "X-Real-IP": "203.0.113.9", "Forwarded": "for=203.0.113.9;host=evil.example", "X-Forwarded-User": "bob"}
    body = b"title=forwarded"
    b = expired_browser(cstack)
    echo = assert_delivered(cstack, submit_then_sign_in(cstack, b, body, "application/x-www-form-urlencoded", extra=spoof),
                            body, "application/x-www-form-urlencoded")["headers"]
    direct, _ = b.navigate("POST", cstack.infusion + FORM, body, same_origin(cstack, "application/x-www-form-urlencoded", spoof))
    signed_in = direct.json()["headers"]
    for name in ("x-forwarded-host", "x-forwarded-proto"):
        assert echo.get(name) == signed_in.get(name), (name, echo.get(name), signed_in.get(name))
    assert echo["x-forwarded-host"] == cstack.infusion.split("://", 1)[1] and echo["x-forwarded-proto"] == "https"
    # Headers a site may set or blank in its own location (proxy_set_header X-Real-IP …): nginx kept the form before
    # that ran, so the client's copies are never replayed (no browser form sends them).
    for name in ("x-real-ip", "forwarded", "x-forwarded-user"):
        assert name not in echo, (name, echo.get(name))
    # The address the web server saw is the last one, as in the direct request; what the client claimed is not trusted.
    assert echo["x-forwarded-for"].split(",")[-1].strip() == signed_in["x-forwarded-for"].split(",")[-1].strip() == "127.0.0.1"


def test_body_over_the_limit_gets_the_page_and_no_delivery(cstack):
    body = b"big=" + b"x" * (300 * 1024)
    final = submit_then_sign_in(cstack, expired_browser(cstack), body, "application/x-www-form-urlencoded")
    assert final.status_code == 200
    assert "application/json" not in final.headers.get("Content-Type", "")
    assert "Your submission was not kept" in final.text and "256 KiB" in final.text
    assert "Nothing was sent to Infusion" in final.text


def test_another_user_signing_in_never_receives_it(cstack):
    b = expired_browser(cstack)  # alice's session ended
    final = submit_then_sign_in(cstack, b, b"secret=alice-only", "application/x-www-form-urlencoded", user="bob", password="builder")
    assert final.status_code == 200 and "another sign-in" in final.text
    assert "alice-only" not in final.text
    r = b.get(cstack.infusion + FORM)
    assert r.json()["method"] == "GET" and r.json()["headers"]["x-remote-user"] == "bob"


def test_another_browser_never_receives_it(cstack):
    a = expired_browser(cstack)
    form, _ = a.navigate("POST", cstack.infusion + FORM, b"secret=from-a", same_origin(cstack, "application/x-www-form-urlencoded"))
    stolen = a.cookie("infusion.iqueue.test", "__Host-sso_replay").value
    # A second browser of the same user, with the replay cookie's value copied in: the fingerprint does not match.
    other = Browser(cstack, user_agent="Another Browser/1.0")
    other.sign_in(cstack.infusion + "/", "alice", "wonderland")
    other.session.cookies.set("__Host-sso_replay", stolen, domain="infusion.iqueue.test", path="/")
    r, _ = other.navigate("GET", cstack.infusion + FORM)
    assert r.status_code == 200 and "another sign-in" in r.text and "from-a" not in r.text
    # And a third browser without the cookie just gets the page it asked for.
    third = Browser(cstack, user_agent="Third/1.0")
    echo = third.sign_in(cstack.infusion + FORM).json()
    assert echo["method"] == "GET"


def test_cross_site_post_is_never_replayed(cstack):
    b = expired_browser(cstack)
    headers = same_origin(cstack, "application/x-www-form-urlencoded", {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    form, _ = b.navigate("POST", cstack.infusion + FORM, b"transfer=all", headers)
    r = b.submit_login(form, "alice", "wonderland")
    final, _ = b.navigate("GET", requests.compat.urljoin(cstack.accounts, r.headers["Location"]))
    assert final.status_code == 200 and "not sent from a page of this site" in final.text


def test_post_without_any_earlier_sign_in_is_not_replayed(cstack):
    b = Browser(cstack)
    form, _ = b.navigate("POST", cstack.infusion + FORM, b"a=1", same_origin(cstack, "application/x-www-form-urlencoded"))
    r = b.submit_login(form, "alice", "wonderland")
    final, _ = b.navigate("GET", requests.compat.urljoin(cstack.accounts, r.headers["Location"]))
    assert final.status_code == 200 and "could not be tied to your earlier sign-in" in final.text


def test_api_requests_keep_their_401_and_are_not_cached(cstack):
    b = expired_browser(cstack)
    r = b.session.post(cstack.infusion + "/api/items", data=b'{"a":1}', allow_redirects=False, timeout=10,
                       headers={"Content-Type": "application/json", "Accept": "application/json", "Origin": cstack.infusion})
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is None


def test_a_type_that_cannot_be_replayed_gets_the_page(cstack):
    final = submit_then_sign_in(cstack, expired_browser(cstack), b"\x00\x01binary", "application/octet-stream")
    assert final.status_code == 200 and "cannot be kept" in final.text and "application/octet-stream" in final.text


def test_an_entry_past_its_ttl_gets_the_page_and_no_delivery(short_stack):
    b = expired_browser(short_stack)
    form, _ = b.navigate("POST", short_stack.infusion + FORM, b"late=1", same_origin(short_stack, "application/x-www-form-urlencoded"))
    time.sleep(3.2)  # the short stack keeps requests for 2 s
    r = b.submit_login(form, "alice", "wonderland")
    final, _ = b.navigate("GET", requests.compat.urljoin(short_stack.accounts, r.headers["Location"]))
    assert final.status_code == 200 and "time ran out" in final.text
    assert b.get(short_stack.infusion + FORM).json()["method"] == "GET"


def test_two_tabs_each_with_an_expired_form_both_reach_the_app(cstack):
    """Two forms sent from two tabs after the session ended: each lands on a sign-in form; signing in on one, then going
    back to the other, delivers each form once, to its own URL."""
    b = expired_browser(cstack)
    bodies = {"/forms/submit?tab=1": b"note=first+tab", "/forms/submit?tab=2": b"note=second+tab"}
    forms = {}
    for uri, body in bodies.items():
        form, hops = b.navigate("POST", cstack.infusion + uri, body,
                                same_origin(cstack, "application/x-www-form-urlencoded"))
        assert form.status_code == 200 and 'name="password"' in form.text, (form.status_code, hops)
        forms[uri] = form
    for uri, body in bodies.items():
        r = b.submit_login(forms[uri], "alice", "wonderland")
        assert r.status_code in (302, 303), r.text[:300]
        final, hops = b.navigate("GET", requests.compat.urljoin(cstack.accounts, r.headers["Location"]))
        assert final.status_code == 200, (uri, hops, final.text[:400])
        echo = final.json()
        assert (echo["method"], echo["uri"], echo["body"]) == ("POST", uri, body.decode()), (uri, hops)


def test_an_id_already_delivered_never_takes_the_next_request(cstack):
    """Two tabs' replays answered at once each set the cookie to the other's id, so the browser can be left naming a
    submission already delivered (its answer arrived last). The next form must still reach the app, and no page may
    say the delivered one ran out."""
    b = expired_browser(cstack)
    for uri, body in (("/forms/submit?tab=a", b"tab=a"), ("/forms/submit?tab=b", b"tab=b")):
        form, hops = b.navigate("POST", cstack.infusion + uri, body, same_origin(cstack, "application/x-www-form-urlencoded"))
        assert 'name="password"' in form.text, hops
    both = b.cookie("infusion.iqueue.test", "__Host-sso_replay").value
    first_id = both.split(".")[0]
    r = b.submit_login(form, "alice", "wonderland")
    final, _ = b.navigate("GET", requests.compat.urljoin(cstack.accounts, r.headers["Location"]))
    assert final.json()["body"] == "tab=b"
    assert b.get(cstack.infusion + "/forms/submit?tab=a").json()["body"] == "tab=a"
    # The lost update: the browser names the first submission again, though it was delivered.
    b.session.cookies.set("__Host-sso_replay", first_id, domain="infusion.iqueue.test", path="/", secure=True)
    post, hops = b.navigate("POST", cstack.infusion + "/forms/other", b"fresh=1",
                            same_origin(cstack, "application/x-www-form-urlencoded"))
    assert post.status_code == 200 and post.json()["method"] == "POST" and post.json()["body"] == "fresh=1", hops
    page, hops = b.navigate("GET", cstack.infusion + "/after")
    assert page.status_code == 200 and page.json()["uri"] == "/after", (hops, page.text[:300])
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is None


def test_a_submission_whose_time_ran_out_is_told_on_the_next_page_not_instead_of_a_form(cstack):
    b = expired_browser(cstack)
    assert b.sign_in(cstack.infusion + "/x").status_code == 200
    gone = "A" * 43  # well formed, never kept (as one whose time ran out)
    b.session.cookies.set("__Host-sso_replay", gone, domain="infusion.iqueue.test", path="/", secure=True)
    post, hops = b.navigate("POST", cstack.infusion + "/forms/other", b"fresh=1",
                            same_origin(cstack, "application/x-www-form-urlencoded"))
    assert post.status_code == 200 and post.json()["body"] == "fresh=1", hops
    page = b.get(cstack.infusion + "/after")
    assert page.status_code == 200 and "time ran out" in page.text
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is None


def kept_then_signed_in_elsewhere(stack, body=b"note=OLD", content_type="application/x-www-form-urlencoded"):
    """A form kept for FORM; the user then signs in through another page (another tab): the form still waits."""
    b = expired_browser(stack)
    form, hops = b.navigate("POST", stack.infusion + FORM, body, same_origin(stack, content_type))
    assert 'name="password"' in form.text, hops
    final = b.sign_in(stack.infusion + "/elsewhere")
    assert final.status_code == 200 and final.json()["uri"] == "/elsewhere"
    return b


def test_a_kept_form_is_delivered_only_to_a_page_the_browser_opens(cstack):
    """Only the browser's own navigation to the form's address delivers it: a form sent there now, an API call, an image
    or frame a page of the same site embeds (a sibling subdomain can), a HEAD: each is its own request, and the kept
    form keeps waiting."""
    b = kept_then_signed_in_elsewhere(cstack)
    fresh, hops = b.navigate("POST", cstack.infusion + FORM, b"note=NEW", same_origin(cstack, "application/x-www-form-urlencoded"))
    assert fresh.json()["body"] == "note=NEW", hops
    api = b.post(cstack.infusion + FORM, data=b'{"x":1}', headers={"Content-Type": "application/json", "Accept": "application/json",
                                                                    "X-Requested-With": "XMLHttpRequest", "Origin": cstack.infusion})
    assert api.status_code == 200 and api.json()["body"] == '{"x":1}'
    for headers in ({"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "image", "Accept": "image/*"},
                    {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "iframe"}):
        embedded = b.get(cstack.infusion + FORM, headers=headers)
        assert embedded.status_code == 200 and embedded.json()["method"] == "GET", headers
    assert b.session.head(cstack.infusion + FORM, allow_redirects=False, timeout=10).status_code == 200
    page, hops = b.navigate("GET", cstack.infusion + FORM, headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
    assert (page.json()["method"], page.json()["body"]) == ("POST", "note=OLD"), hops


def test_an_api_call_never_takes_the_page_that_says_a_form_was_not_kept(cstack):
    b = kept_then_signed_in_elsewhere(cstack, body=b"\x00bin", content_type="application/octet-stream")
    api = b.get(cstack.infusion + FORM, headers={"Sec-Fetch-Mode": "cors", "Accept": "application/json"})
    assert api.status_code == 200 and api.json()["method"] == "GET"
    page, _ = b.navigate("GET", cstack.infusion + FORM)
    assert "was not kept" in page.text and "cannot be kept" in page.text


def test_tabs_opening_the_kept_forms_page_at_once_get_it_delivered_once_and_no_false_page(cstack):
    """Several tabs (or a double click) open the kept form's page at the same moment: the form reaches the app once,
    and no tab says it was not delivered (which would invite the user to send it twice)."""
    import concurrent.futures
    import copy
    for attempt in range(4):
        b = kept_then_signed_in_elsewhere(cstack, body=f"note=race{attempt}".encode())

        def open_page(_):
            s = requests.Session()
            s.trust_env, s.verify = False, str(cstack.ca)
            s.headers.update(b.session.headers)
            s.cookies = copy.deepcopy(b.session.cookies)
            r = s.get(cstack.infusion + FORM, allow_redirects=False, timeout=15)
            for _ in range(3):  # sent round to the page: what the browser then shows
                if r.status_code not in (302, 303):
                    break
                r = s.get(cstack.infusion + FORM, allow_redirects=False, timeout=15)
            return r

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(open_page, range(6)))
        assert not [r.text[:300] for r in answers if "not kept" in r.text or "not delivered" in r.text]
        # A tab whose request came while another replay had the form claimed is told so (503, reload in a moment).
        busy = [r for r in answers if r.status_code == 503 and "being delivered" in r.text]
        methods = sorted(r.json()["method"] for r in answers if r not in busy)
        assert methods.count("POST") == 1 and set(methods) <= {"GET", "POST"}, methods


@pytest.fixture(scope="module", params=SERVERS)
def short_stack(request, tmp_root):
    """Kept submissions live 2 s."""
    s = make_stack(tmp_root, request.param, cache_ttl=2)
    s.start()
    yield s
    s.stop()


def test_a_form_put_back_while_the_app_was_down_is_told_when_its_time_runs_out(short_stack):
    import sys
    from ssostack import ROOT
    s = short_stack
    b = kept_then_signed_in_elsewhere(s)
    s.terminate("app-infusion")
    try:
        down, _ = b.navigate("GET", s.infusion + FORM)
        assert down.status_code == 502 and "still kept" in down.text
        time.sleep(3)
    finally:
        port = s.app_ports["infusion"]
        s.spawn("app-infusion", [sys.executable, ROOT / "scripts" / "echo_app.py", str(port), "infusion"])
        deadline = time.time() + 10
        while not s.listening(port) and time.time() < deadline:
            time.sleep(0.1)
    page, _ = b.navigate("GET", s.infusion + FORM)
    assert "was not kept" in page.text and "time ran out" in page.text


def restart_app(stack):
    import sys
    from ssostack import ROOT
    port = stack.app_ports["infusion"]
    stack.spawn("app-infusion", [sys.executable, ROOT / "scripts" / "echo_app.py", str(port), "infusion"])
    deadline = time.time() + 10
    while not stack.listening(port) and time.time() < deadline:
        time.sleep(0.1)


def test_tabs_opening_the_kept_forms_page_while_the_app_is_down_keep_it_for_the_reload(cstack):
    """The app is down when several tabs open the kept form's page at once: one is told the form is still kept, the
    others show what they can; no tab's answer makes the browser forget the form or says it ran out, and the reload the
    user is told to do delivers it."""
    import concurrent.futures
    import copy
    for attempt in range(3):
        b = kept_then_signed_in_elsewhere(cstack, body=f"note=down{attempt}".encode())
        cstack.terminate("app-infusion")
        try:
            def open_page(_):
                s = requests.Session()
                s.trust_env, s.verify = False, str(cstack.ca)
                s.headers.update(b.session.headers)
                s.cookies = copy.deepcopy(b.session.cookies)
                return s.get(cstack.infusion + FORM, allow_redirects=False, timeout=15)

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(open_page, range(8)))
        finally:
            restart_app(cstack)
        assert any("still kept" in r.text for r in answers)
        assert not [r.headers["Set-Cookie"] for r in answers if "__Host-sso_replay" in r.headers.get("Set-Cookie", "")]
        assert not [r.text for r in answers if "ran out" in r.text or "not delivered" in r.text]
        page, hops = b.navigate("GET", cstack.infusion + FORM)
        assert (page.json()["method"], page.json()["body"]) == ("POST", f"note=down{attempt}"), hops


def test_a_prefetch_or_prerender_never_takes_the_kept_form(cstack):
    """Chromium prefetches and prerenders pages a site's speculation rules (or the address bar) predict, with the
    headers of a navigation and a Sec-Purpose: the user may never see that answer, so it must not deliver the form."""
    b = kept_then_signed_in_elsewhere(cstack, body=b"note=prefetched")
    for purpose in ({"Sec-Purpose": "prefetch"}, {"Sec-Purpose": "prefetch;prerender"}, {"Purpose": "prefetch"},
                    {"X-Moz": "prefetch"}, {"X-Purpose": "preview"}):
        r = b.session.get(cstack.infusion + FORM, allow_redirects=False, timeout=10,
                          headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", **purpose})
        assert r.status_code == 200 and r.json()["method"] == "GET", purpose
    page, hops = b.navigate("GET", cstack.infusion + FORM, headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
    assert (page.json()["method"], page.json()["body"]) == ("POST", "note=prefetched"), hops


def memcached_command(stack, line):
    """One text-protocol command to the stack's memcached (as a server restart or an eviction would act)."""
    import socket
    with socket.create_connection(("127.0.0.1", stack.memcached_port), timeout=5) as c:
        c.sendall(line.encode() + b"\r\n")
        return c.recv(1024)


def test_a_kept_form_memcached_lost_is_told_not_waited_for(cstack):
    """memcached evicts the kept form (or the server holding it restarts) while its small receipt stays: the user is
    told it was not kept, at once, and not left waiting for a delivery that will never come."""
    b = kept_then_signed_in_elsewhere(cstack, body=b"note=evicted")
    kept_id = b.cookie("infusion.iqueue.test", "__Host-sso_replay").value.split(".")[0]
    assert memcached_command(cstack, f"delete sso:q:{kept_id}").startswith(b"DELETED")
    page, hops = b.navigate("GET", cstack.infusion + FORM)
    assert "was not kept" in page.text and "lost" in page.text, (hops, page.text[:300])
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is None


def test_a_kept_form_memcached_hands_back_unreadable_is_told_lost_never_a_redirect_loop(cstack):
    """memcached hands back bytes that are no kept form where the form was (written by another version, damaged, or
    planted): the page says it was lost, once, and every page of the site opens. When the tale of a lost form was first
    recorded by compare-and-swap, the route called unreadable bytes gone and the record called them there: each page of
    the origin redirected to itself."""
    b = kept_then_signed_in_elsewhere(cstack, body=b"note=damaged")
    kept_id = b.cookie("infusion.iqueue.test", "__Host-sso_replay").value.split(".")[0]
    reply = memcached_command(cstack, f"set sso:q:{kept_id} 0 600 5\r\nxxxxx")
    assert reply.startswith(b"STORED"), reply
    page, hops = b.navigate("GET", cstack.infusion + FORM)
    assert len(hops) < 5 and "was not kept" in page.text and "lost" in page.text, (hops, page.text[:300])
    other, hops = b.navigate("GET", cstack.infusion + "/elsewhere")
    assert other.status_code == 200 and other.json()["method"] == "GET", hops


@pytest.fixture(scope="module", params=SERVERS)
def quick_stack(request, tmp_root):
    """The app must answer a replay within 2 s."""
    s = make_stack(tmp_root, request.param, config={"request_cache.backend_timeout": 2})
    s.start()
    yield s
    s.stop()


def test_a_delivery_cut_short_by_a_crash_is_told_as_maybe_received(quick_stack):
    """AppAuthFCGI dies while the app has the replayed form and has not answered: the user is later told it may or may
    not have been received (check before sending it again), never that nothing was sent."""
    import os
    import signal
    import socket
    import threading
    s = quick_stack
    b = kept_then_signed_in_elsewhere(s, body=b"note=crash")
    port = s.app_ports["infusion"]
    s.terminate("app-infusion")
    received = []
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(5)

    def app_that_never_answers():
        conn, _ = listener.accept()
        received.append(conn.recv(65536))
        time.sleep(5)
        conn.close()

    threading.Thread(target=app_that_never_answers, daemon=True).start()
    tab = threading.Thread(target=lambda: b.session.get(s.infusion + FORM, allow_redirects=False, timeout=20), daemon=True)
    tab.start()
    deadline = time.time() + 5
    while not received and time.time() < deadline:
        time.sleep(0.05)
    assert received and received[0].startswith(b"POST " + FORM.encode())
    appauth = s.procs.pop("appauth")
    os.killpg(appauth.pid, signal.SIGKILL)
    appauth.wait()
    tab.join(25)
    s.start_fcgi(["appauth"])
    listener.close()
    restart_app(s)
    time.sleep(10)  # past the replay's deadline: twice the backend timeout and 5 s
    page, _ = b.navigate("GET", s.infusion + "/later")
    assert "may or may not have been received" in page.text, page.text[:400]
    assert "Nothing was sent" not in page.text


def set_receipt(stack, kept_id, value):
    data = value.encode()
    reply = memcached_command(stack, f"set sso:q:{kept_id}:r 0 600 {len(data)}\r\n{data.decode()}")
    assert reply.startswith(b"STORED"), reply


def test_a_form_whose_receipt_says_done_is_never_delivered_again_nor_told_lost(cstack):
    """Once a tab has delivered (or explained) a kept form, its receipt says `done`, and that is final. A tab routed to
    the replay just before (several tabs opened the page at once) used to reach `take` after it: it claimed the `done`
    receipt, found the form gone and deleted the receipt, so every tab after it said the form was not kept. Here the
    manifest is even left beside the `done` receipt (the old take then delivered the form a second time): nothing
    reaches the app again, no page says it was lost, the page opens and the replay cookie is cleared."""
    b = kept_then_signed_in_elsewhere(cstack, body=b"note=once")
    kept_id = b.cookie("infusion.iqueue.test", "__Host-sso_replay").value.split(".")[0]
    set_receipt(cstack, kept_id, "done")
    page, hops = b.navigate("GET", cstack.infusion + FORM)
    assert page.status_code == 200 and page.json()["method"] == "GET", (hops, page.text[:300])
    assert b.cookie("infusion.iqueue.test", "__Host-sso_replay") is None
    again, hops = b.navigate("GET", cstack.infusion + FORM)
    assert again.json()["method"] == "GET" and "not kept" not in again.text, hops
    assert memcached_command(cstack, f"get sso:q:{kept_id}:r").startswith(b"VALUE sso:q:" + kept_id.encode() + b":r 0 4\r\ndone")


def test_when_memcached_lost_the_form_and_its_receipt_the_page_says_so_without_guessing(cstack):
    """memcached flushed (or restarted) while the form waited: nothing says whether its time ran out or it was lost,
    so the page says it is no longer kept, not that it "was kept for 10 minutes" seconds after it was sent."""
    b = expired_browser(cstack)
    form, hops = b.navigate("POST", cstack.infusion + FORM, b"note=flushed", same_origin(cstack, "application/x-www-form-urlencoded"))
    assert 'name="password"' in form.text, hops
    assert memcached_command(cstack, "flush_all").startswith(b"OK")
    r = b.submit_login(form, "alice", "wonderland")
    page, hops = b.navigate("GET", requests.compat.urljoin(cstack.accounts, r.headers["Location"]))
    assert "no longer kept" in page.text and "ran out before" not in page.text, (hops, page.text[:300])


def test_a_form_claimed_by_another_replay_gets_a_page_not_a_redirect_loop(cstack):
    """A receipt that says another replay has the form (its program died between putting the form back and saying so)
    while the form is there: the page says it is being delivered; it never redirects to itself until the deadline."""
    b = kept_then_signed_in_elsewhere(cstack, body=b"note=claimed")
    kept_id = b.cookie("infusion.iqueue.test", "__Host-sso_replay").value.split(".")[0]
    now = int(time.time())
    set_receipt(cstack, kept_id, f"taking {now + 100} {now + 600}")
    page, hops = b.navigate("GET", cstack.infusion + FORM)
    assert page.status_code == 503 and "being delivered" in page.text and len(hops) == 1, hops
    set_receipt(cstack, kept_id, f"taking {now - 1} {now + 600}")  # its deadline passed: this replay takes it
    page, _ = b.navigate("GET", cstack.infusion + FORM)
    assert (page.json()["method"], page.json()["body"]) == ("POST", "note=claimed")


HOSTILE_RECEIPTS = ["9223372036854775807", "-9223372036854775808", "taking 9223372036854775807 1",
                    "taking 1 -9223372036854775808", "done\x00", "1" * 40]


def test_a_receipt_no_clock_shows_is_no_receipt_never_a_crash(cstack):
    """Receipts come from memcached (which any process on its network can write): times that overflowed the worker's
    arithmetic made every visit of that page crash a worker (the run's crash check reads every program log)."""
    for receipt in HOSTILE_RECEIPTS[:3]:  # the form is there: its receipt is claimed over, and it is delivered
        b = kept_then_signed_in_elsewhere(cstack, body=b"note=hostile")
        kept_id = b.cookie("infusion.iqueue.test", "__Host-sso_replay").value.split(".")[0]
        set_receipt(cstack, kept_id, receipt)
        page, _ = b.navigate("GET", cstack.infusion + FORM)
        assert (page.json()["method"], page.json()["body"]) == ("POST", "note=hostile"), receipt
    b = kept_then_signed_in_elsewhere(cstack, body=b"note=hostile")  # the form gone: the receipt alone decides
    kept_id = b.cookie("infusion.iqueue.test", "__Host-sso_replay").value.split(".")[0]
    assert memcached_command(cstack, f"delete sso:q:{kept_id}").startswith(b"DELETED")
    for receipt in HOSTILE_RECEIPTS:
        set_receipt(cstack, kept_id, receipt)
        b.session.cookies.set("__Host-sso_replay", kept_id, domain="infusion.iqueue.test", path="/", secure=True)
        page, _ = b.navigate("GET", cstack.infusion + "/any")
        assert page.status_code == 200 and "no longer kept" in page.text, receipt
