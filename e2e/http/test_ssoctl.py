"""ssoctl against a running stack and its generated config: sessions list and revoke (on every host and domain at the
next request), users passwd/disable/add (picked up without a restart), keys rotate (no one logged out), check, the
exit codes, --json, and the audit trail."""
import json
import subprocess
import time

import pytest
import yaml

from helpers import BIN, SERVERS, Browser, refused_within


def ctl(stack, *args, input=None):
    return subprocess.run([BIN / "ssoctl", *args, "--config", str(stack.config_path)], input=input, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module", params=SERVERS[:1])
def admin_stack(request, tmp_root):
    """One web server is enough: ssoctl talks to memcached and files, not to the web server."""
    from helpers import make_stack
    s = make_stack(tmp_root, request.param)
    s.start()
    yield s
    s.stop()


def test_sessions_list_and_revoke_by_user_and_by_id(admin_stack):
    s = admin_stack
    a1, a2 = Browser(s, user_agent="alice-laptop"), Browser(s, user_agent="alice-phone")
    for b in (a1, a2):
        assert b.sign_in(s.infusion + "/").status_code == 200
    assert a1.follow(s.dextor + "/")[0].status_code == 200
    listed = ctl(s, "sessions", "list", "--user", "alice", "--json")
    assert listed.returncode == 0, listed.stderr
    sessions = json.loads(listed.stdout)
    assert len(sessions) >= 2 and {x["user"] for x in sessions} == {"alice"}
    assert all({"id", "created", "last_access", "idle_timeout", "fingerprint", "services"} <= set(x) for x in sessions)
    text = ctl(s, "sessions", "list")
    assert text.returncode == 0 and "alice" in text.stdout
    # One session by its id prefix: that browser is out, the other not.
    import hashlib
    phone_fingerprint = hashlib.sha256(b"alice-phone").hexdigest()[:32]
    phone = next(x["id"] for x in sessions if x["fingerprint"] == phone_fingerprint)
    r = ctl(s, "sessions", "revoke", "--id=" + phone[:10], "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ended"] == 1, r.stderr
    assert a2.get(s.infusion + "/x").status_code == 302
    assert a1.get(s.infusion + "/x").status_code == 200
    # Everything of alice's: out on both domains at the next request.
    r = ctl(s, "sessions", "revoke", "--user", "alice")
    assert r.returncode == 0 and "ended" in r.stdout
    assert a1.get(s.infusion + "/x").status_code == 302 and a1.get(s.dextor + "/x").status_code == 302
    # Exit codes: nothing matches -> 1; a usage mistake -> 2 (ArgumentParser's validation).
    assert ctl(s, "sessions", "revoke", "--id", "zzzzzzzz").returncode == 1
    assert ctl(s, "sessions", "revoke", "--user", "alice", "--all").returncode == 2  # a usage mistake


def memcached(stack, command, data=None):
    """One text-protocol command to the stack's memcached; returns the first reply line."""
    import socket
    with socket.create_connection(("127.0.0.1", stack.memcached_port), timeout=10) as c:
        c.sendall(command + b"\r\n" + (data + b"\r\n" if data is not None else b""))
        return c.makefile("rb").readline().strip()


def test_a_user_with_a_long_history_of_sign_ins_is_still_revoked(admin_stack):
    """Every sign-in lists its session under the user, for revocation. The list was never pruned: once it filled
    memcached's item (~23,800 sign-ins, here written at once), a new session was silently not listed and `revoke
    --user` ended nothing. Now a sign-in drops the ended sessions from a long list first."""
    import hashlib
    s = admin_stack
    key = b"sso:u:" + hashlib.sha256(b"bob").hexdigest()[:32].encode()
    filler = b" " + b"A" * 43  # TokenIDs of sessions long ended
    count = 1024 * 1024 // len(filler)
    while memcached(s, b"set %s 0 50000 %d" % (key, count * len(filler)), filler * count) != b"STORED":
        count -= 1  # as many as one item holds: no room for one more
    bob = Browser(s, user_agent="bob-after-a-long-history")
    assert bob.sign_in(s.infusion + "/", "bob", "builder").status_code == 200
    r = ctl(s, "sessions", "revoke", "--user", "bob", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ended"] >= 1, (r.stdout, r.stderr)
    assert bob.get(s.infusion + "/after").status_code == 302


def test_revoke_all(admin_stack):
    s = admin_stack
    browsers = [Browser(s) for _ in range(2)]
    browsers[0].sign_in(s.infusion + "/")
    browsers[1].sign_in(s.infusion + "/", "bob", "builder")
    assert ctl(s, "sessions", "revoke", "--all").returncode == 0
    assert all(b.get(s.infusion + "/x").status_code == 302 for b in browsers)


def test_users_passwd_disable_add_take_effect_without_a_restart(admin_stack):
    s = admin_stack
    pid = s.procs["accounts"].pid
    bob = Browser(s)
    assert bob.sign_in(s.infusion + "/", "bob", "builder").status_code == 200
    assert ctl(s, "users", "passwd", "bob", input="rebuilt\n").returncode == 0
    assert refused_within(bob, s.infusion + "/x", bound=5.0)
    assert Browser(s).sign_in(s.infusion + "/", "bob", "rebuilt").status_code == 200
    r = ctl(s, "users", "add", "carol", "--name", "Carol", "--email", "carol@iqueue.test", "--services", "infusion", input="c-pass\n")
    assert r.returncode == 0, r.stderr
    time.sleep(3)
    assert Browser(s).sign_in(s.infusion + "/", "carol", "c-pass").json()["headers"]["x-remote-user"] == "carol"
    carol = Browser(s)
    carol.sign_in(s.infusion + "/", "carol", "c-pass")
    assert ctl(s, "users", "disable", "carol").returncode == 0
    assert refused_within(carol, s.infusion + "/x", bound=5.0)
    users = json.loads(ctl(s, "users", "list", "--json").stdout)
    assert {u["username"]: u["disabled"] for u in users}["carol"] is True
    assert ctl(s, "users", "passwd", "nobody", input="x\n").returncode == 1
    assert s.procs["accounts"].pid == pid  # all without a restart
    assert ctl(s, "users", "enable", "carol").returncode == 0
    assert ctl(s, "users", "passwd", "bob", input="builder\n").returncode == 0


def test_keys_rotate_logs_no_one_out(admin_stack):
    s = admin_stack
    alice = Browser(s)
    assert alice.sign_in(s.infusion + "/").status_code == 200
    r = ctl(s, "keys", "rotate", "--kid", "ed-rotated", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["retired"] == "ed-1"
    assert ctl(s, "check").returncode == 0
    # The programs read keys at start: restart both, as the docs say (app hosts first).
    for name in ("appauth", "accounts"):
        s.terminate(name)
    s.start_fcgi()
    assert alice.get(s.infusion + "/still").status_code == 200  # signed with the old key, still valid
    fresh = Browser(s)
    assert fresh.sign_in(s.dextor + "/").status_code == 200       # signed with the new one
    token = fresh.cookie("dextor.leantaas.test").value
    import base64
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["kid"] == "ed-rotated"
    assert "nothing to prune" in ctl(s, "keys", "prune", "--dry-run").stdout


def test_keys_rotate_to_a_pair_generated_first(admin_stack, tmp_path):
    """docs/operations.md's order: generate the pair, give the app hosts its public half, then rotate to it. The rotation
    uses the very files generated (the app hosts verify with that public key); a pair that does not match is refused
    and the config left as it was. rotate used to refuse any kid whose files existed."""
    s = admin_stack
    config = tmp_path / "sso.yaml"
    config.write_text(s.config_path.read_text())
    keys = tmp_path / "keys"
    keys.mkdir()
    run = lambda *args: subprocess.run([BIN / "ssoctl", "keys", *args, "--config", str(config), "--json"], capture_output=True,
                                       text=True, timeout=60)
    made = run("generate", "--kid", "ed-next", "--dir", str(keys))
    assert made.returncode == 0, made.stderr
    public = (keys / "ed-next.pub.pem").read_bytes()
    r = run("rotate", "--kid", "ed-next", "--dir", str(keys))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["public_key_file"] == str(keys / "ed-next.pub.pem")
    assert (keys / "ed-next.pub.pem").read_bytes() == public
    assert yaml.safe_load(config.read_text())["keys"]["signing_kid"] == "ed-next"
    # A mismatched pair (another key's public half): refused, nothing changed.
    assert run("generate", "--kid", "ed-third", "--dir", str(keys)).returncode == 0
    (keys / "ed-third.pub.pem").write_bytes(public)
    before = config.read_text()
    r = run("rotate", "--kid", "ed-third", "--dir", str(keys))
    assert r.returncode != 0 and "is not the public half" in r.stderr + r.stdout, r.stdout + r.stderr
    assert config.read_text() == before


def test_check_and_the_audit_trail(admin_stack):
    s = admin_stack
    ok = ctl(s, "check", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["problems"] == []
    audit = [json.loads(line) for line in (s.state / "logs" / "audit.log").read_text().splitlines()]
    events = {(e["event"], e.get("action", e.get("result"))) for e in audit}
    for expected in [("signin", "ok"), ("handoff", "redeemed"), ("admin", "sessions revoke"), ("admin", "users passwd"),
                     ("admin", "users add"), ("admin", "users disable"), ("admin", "keys rotate"), ("revoke", None)]:
        assert any(e[0] == expected[0] and (expected[1] is None or e[1] == expected[1]) for e in events), expected
    text = (s.state / "logs" / "audit.log").read_text()
    for secret in ("wonderland", "builder", "rebuilt", "c-pass", "eyJ"):
        assert secret not in text


def test_check_on_an_app_host_runs_appauths_checks_only(admin_stack, tmp_path):
    """An app host's config as docs/operations.md makes it (the private key's line deleted: app hosts verify, never
    sign) passes `ssoctl check`, which says what it checked. It used to fail there with exit 2 on every app host: it
    always loaded the keys as the accounts host does."""
    s = admin_stack
    cfg = yaml.safe_load(s.config_path.read_text())
    for entry in cfg["keys"]["list"]:
        entry.pop("private_key_file", None)
    app_host = tmp_path / "app-host.yaml"
    app_host.write_text(yaml.safe_dump(cfg))
    run = lambda *args: subprocess.run([BIN / "ssoctl", "check", *args, "--config", str(app_host)], capture_output=True,
                                       text=True, timeout=60)
    r = run()
    assert r.returncode == 0 and "OK as an app host (AppAuthFCGI;" in r.stdout, r.stdout + r.stderr
    # Asked to check it as the accounts host: AccountsFCGI's own problem, named.
    r = run("--host", "accounts")
    assert r.returncode == 2 and r.stdout.startswith("AccountsFCGI: ") and "keys.signing_kid" in r.stdout, r.stdout
    # What AppAuthFCGI needs is still checked: a public key it cannot read.
    cfg["keys"]["list"][0]["public_key_file"] = str(tmp_path / "missing.pub.pem")
    app_host.write_text(yaml.safe_dump(cfg))
    r = run()
    assert r.returncode == 2 and "AppAuthFCGI: " in r.stdout and "keys.list[0]" in r.stdout, r.stdout
    # The accounts host's own config: both programs.
    both = json.loads(ctl(s, "check", "--json").stdout)
    assert both["host"] == "accounts" and both["programs"] == ["AccountsFCGI", "AppAuthFCGI"] and both["problems"] == []


def test_a_huge_user_name_makes_no_huge_audit_line(admin_stack):
    """A forged sign-in (no CSRF cookie) is audited with the user name it sent. 20,000 control characters (60 KB
    form-encoded, within the web server's 64 KiB for /login), each written as a 6-byte JSON escape, made a 120 KB line
    per request, written to disk, unthrottled. Every audit value is cut to 512 bytes now, marked as cut."""
    s = admin_stack
    log = s.state / "logs" / "audit.log"
    before = log.stat().st_size
    r = Browser(s).session.post(s.accounts + "/login", data={"username": "\x01" * 20_000, "password": "x", "csrf": "x"},
                                allow_redirects=False, timeout=10)
    assert r.status_code == 403, r.status_code
    time.sleep(0.2)
    lines = log.read_bytes()[before:].decode().splitlines()
    forged = [json.loads(line) for line in lines if '"bad_form"' in line]
    assert forged and all(len(line) < 4096 for line in lines), [len(line) for line in lines]
    assert forged[-1]["user"].endswith("…(20000 bytes)"), forged[-1]["user"][-40:]
