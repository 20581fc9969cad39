"""The example sites log no requestID and no state: after a sign-in, the hand-off to a second registrable domain and a
logout, neither nginx's nor Apache's access log (the example site's own sso_noquery format) nor its error log holds a
requestID, a state or a value of either, while the requests themselves are logged."""
import re
import time

from helpers import Browser


def test_no_request_id_or_state_in_the_logs(stack):
    s = stack
    b = Browser(s)
    assert b.sign_in(s.infusion + "/first?x=1").status_code == 200
    handoff = b.request_id_link(s.dextor + "/second")      # the URL with the requestID, as the browser gets it
    request_id = re.search(r"requestID=([^&]+)", handoff).group(1)
    r, _ = b.follow(handoff)
    assert r.status_code == 200 and r.json()["headers"]["x-remote-user"] == "alice"
    b.sign_out()
    time.sleep(1)  # the web servers write their logs as the response ends; give them a moment
    access = s.log_path(f"{s.server}-access").read_text(errors="replace")
    error = s.log_path(f"{s.server}-error").read_text(errors="replace")
    # The flow went through and was logged: the app paths, the accounts steps.
    for path in ("/first ", "/second ", "/noCookie ", "/copyCookie ", "/login ", "/logout "):
        assert path in access, (path, access[-2000:])
    for text, name in ((access, "access"), (error, "error")):
        assert "requestID" not in text and request_id not in text, (name, text[-2000:])
        assert "state=" not in text and "redirectURL" not in text, (name, text[-2000:])
