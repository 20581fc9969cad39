"""What a user and an app see is the same behind Apache as behind nginx: every page and JSON answer keeps the status,
Content-Type and charset the programs gave it (Apache labels an authorizer's refusal text/html; charset=iso-8859-1
unless apache/sso-protect.conf restores it), and the app gets the same X-Forwarded-* set. Each server is held to the
same expected values, so the suite run against both proves they agree."""
import re

from helpers import Browser

HTML = "text/html; charset=utf-8"
JSON = "application/json"


def expect(r, status, content_type):
    assert (r.status_code, r.headers.get("Content-Type")) == (status, content_type), (r.status_code, r.headers, r.text[:300])
    if content_type == HTML:
        # Read as the label says: the middle dot of the title is intact (not "Â·"), and the page is whole.
        title = re.search(r"<title>(.*?)</title>", r.text)
        assert title and "·" in title.group(1) and "Â" not in title.group(1), title
        assert r.text.rstrip().endswith("</html>"), r.text[-200:]
    else:
        r.json()


def test_the_app_gets_the_same_forwarded_headers(stack):
    s = stack
    b = Browser(s)
    seen = b.sign_in(s.infusion + "/").json()["headers"]
    forwarded = {k: v for k, v in seen.items() if k.startswith("x-forwarded-")}
    assert forwarded == {"x-forwarded-for": "127.0.0.1", "x-forwarded-host": f"infusion.iqueue.test:{s.https_port}",
                         "x-forwarded-proto": "https"}, forwarded
    # A client's own X-Forwarded-For is kept with the real address appended; its Host and Proto claims are replaced.
    sent = {"X-Forwarded-For": "192.0.2.7", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    seen = b.get(s.infusion + "/again", headers=sent).json()["headers"]
    forwarded = {k: v for k, v in seen.items() if k.startswith("x-forwarded-")}
    assert forwarded == {"x-forwarded-for": "192.0.2.7, 127.0.0.1", "x-forwarded-host": f"infusion.iqueue.test:{s.https_port}",
                         "x-forwarded-proto": "https"}, forwarded


def test_a_signed_in_visit_under_the_capture_path_is_the_apps_or_not_found_never_unavailable(stack):
    """Apache proxies /_sso/capture, what is under it and its spellings with doubled slashes to AppAuthFCGI (nginx sends
    those paths to the app): a signed-in GET there is a clear 404 page, never "Sign-in is unavailable" (a 503 page)."""
    b = Browser(stack)
    final = b.sign_in(stack.infusion + "/")
    assert final.status_code == 200, (final.status_code, final.headers, final.text[:300])
    for path in ("/_sso/capture/x", "/_sso/capture/?to=/a", "//_sso/capture?to=/a", "/_sso//capture?to=/a"):
        r = b.get(stack.infusion + path)
        if stack.server == "apache":
            expect(r, 404, HTML)
            assert "does not exist" in r.text
        else:
            assert r.status_code == 200 and r.json()["headers"]["x-remote-user"] == "alice", (r.status_code, r.headers, r.text[:300])


def test_pages_and_json_answers_keep_their_type(stack):
    """Last in this module: it stops memcached (the stack is the module's)."""
    s = stack
    anonymous = Browser(s)
    expect(anonymous.get(s.infusion + "/api", headers={"Accept": "application/json"}), 401, JSON)
    form, _ = anonymous.follow(s.infusion + "/x")
    expect(form, 200, HTML)
    bob = Browser(s)
    expect(bob.sign_in(s.infusion + "/", "bob", "builder"), 200, "application/json; charset=utf-8")  # the echo app's own
    no_access, _ = bob.follow(s.dextor + "/")
    expect(no_access, 403, HTML)
    expect(bob.get(s.accounts + "/logout"), 200, HTML)
    signed_out = bob.sign_out()
    expect(signed_out, 200, HTML)
    alice = Browser(s)
    assert alice.sign_in(s.infusion + "/").status_code == 200
    s.stop_memcached()
    try:
        expect(alice.get(s.infusion + "/during"), 503, HTML)
        expect(alice.get(s.infusion + "/during", headers={"Accept": "application/json"}), 503, JSON)
    finally:
        s.start_memcached()

