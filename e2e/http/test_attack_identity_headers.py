"""A client can never name the user the app sees: not as X-Remote-User, nor as any other spelling a framework reads as
the same header (X_Remote_User, X-Remote_User …: CGI-style apps turn '-' and '_' alike into HTTP_X_REMOTE_USER).

nginx drops header names with underscores unless `underscores_in_headers on` (keep it off: docs/nginx.md); the snippet
removes them even then, which the second stack proves."""
import pytest

from helpers import SERVERS, Browser, make_stack

# Every spelling of each identity header with '_' for one or both of its '-' (three per header), and two case
# variants: a list written by hand missed X_Remote-Email and X-Remote_Name, and a snippet could lose their lines unseen.
SPELLINGS = [f"X{a}Remote{b}{field}" for field in ("User", "Email", "Name") for a in "-_" for b in "-_"
             if (a, b) != ("-", "-")] + ["x_remote_user", "X_REMOTE_USER"]


def spoofed_headers(echo):
    """The headers that reached the app which a CGI-style framework would read as one of the identity headers."""
    identity = {"x-remote-user", "x-remote-email", "x-remote-name"}
    return {k: v for k, v in echo["headers"].items() if k.replace("_", "-") in identity and "mallory" in v}


def assert_no_spoof(stack):
    b = Browser(stack)
    assert b.sign_in(stack.infusion + "/").status_code == 200
    echo = b.get(stack.infusion + "/who", headers={name: "mallory" for name in SPELLINGS}).json()
    assert spoofed_headers(echo) == {}, spoofed_headers(echo)
    assert echo["headers"]["x-remote-user"] == "alice"


def test_no_spelling_of_the_identity_headers_reaches_the_app(stack):
    assert_no_spoof(stack)


@pytest.fixture(scope="module")
def underscores_stack(tmp_root):
    if "nginx" not in SERVERS:
        pytest.skip("an nginx setting")
    s = make_stack(tmp_root, "nginx", site={"nginx": {"infusion.iqueue.test": "    underscores_in_headers on;\n"}})
    s.start()
    yield s
    s.stop()


def test_with_underscores_in_headers_on_nginx_still_lets_no_spelling_through(underscores_stack):
    assert_no_spoof(underscores_stack)
