"""`--check-config` lists every problem in one run (config file, key files, users file), each with its key path, value and
expectation; it warns without failing when the socket's folder is missing or memcached does not answer. At start the
programs log a warning naming each memcached server that does not answer, and every memcached error names its server.
Run with the configs the stack made for each web server (unix sockets behind nginx, TCP behind Apache)."""
import os
import signal
import subprocess
import time

import yaml

from helpers import BIN, Browser
from ssostack import free_port


def check(program, config_path):
    r = subprocess.run([str(BIN / program), "--config", str(config_path), "--check-config"], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout, r.stderr


def write_config(stack, tmp_path, change):
    cfg = yaml.safe_load(stack.config_path.read_text())
    change(cfg)
    path = tmp_path / "sso.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_the_stacks_config_checks_ok(stack):
    for program in ("AccountsFCGI", "AppAuthFCGI"):
        rc, out, err = check(program, stack.config_path)
        assert rc == 0, err
        assert ": OK (" in out and "warning" not in err, (out, err)


def test_every_problem_is_listed_in_one_run(stack, tmp_path):
    """What hid each other before: an unknown key, a bad origin, a type error, a missing key file, a bad users file."""
    users = tmp_path / "users.yaml"
    users.write_text("- username: alice\n  password_hash: x\n")  # the obvious guess: a top-level list

    def change(cfg):
        cfg["colour"] = "blue"
        cfg["services"][0]["origins"] = ["http://infusion.example.com"]
        cfg["accounts"]["workers"] = "many"
        cfg["app_auth"]["workers"] = "many"
        cfg["keys"]["list"][0]["private_key_file"] = str(tmp_path / "missing.pem")
        cfg["keys"]["list"][0]["public_key_file"] = str(tmp_path / "missing.pub.pem")
        cfg["users_file"] = str(users)

    path = write_config(stack, tmp_path, change)
    rc, out, err = check("AccountsFCGI", path)
    assert rc == 2 and "OK" not in out, (out, err)
    for line in ('colour: got "(unknown key)"',
                 'services[0].origins[0]: got "http://infusion.example.com"; expected an https origin',
                 'accounts.workers: got "many"; expected',
                 f'keys.list[0].private_key_file: got "{tmp_path}/missing.pem"; expected a readable file',
                 f"{users}: ", "(top level): got "):
        assert line in err, (line, err)
    # The users file is checked too, and its block names that file.
    assert err.index(f"{users}:") > err.index(f"{path}:")
    rc, out, err = check("AppAuthFCGI", path)
    assert rc == 2
    for line in ('colour: got "(unknown key)"', 'app_auth.workers: got "many"',
                 f'keys.list[0].public_key_file: got "{tmp_path}/missing.pub.pem"; expected a readable file'):
        assert line in err, (line, err)
    assert str(users) not in err  # AppAuthFCGI never reads the users file


def test_a_missing_users_file_is_named_by_its_key(stack, tmp_path):
    path = write_config(stack, tmp_path, lambda cfg: cfg.update(users_file=str(tmp_path / "nowhere.yaml")))
    rc, _, err = check("AccountsFCGI", path)
    assert rc == 2 and f'users_file: got "{tmp_path}/nowhere.yaml"; expected a readable file' in err, err


def test_a_hash_too_costly_to_verify_is_refused_at_once_not_a_hang(stack, tmp_path):
    """`$2b$31$` is a bcrypt hash libxcrypt accepts: about a month of CPU per hash here. The program proves each cost in
    the users file once with a real hash at start, so with one such user it hung there, silent, and never served.
    Both the check and the start now refuse it at once, by key."""
    doc = yaml.safe_load(open(yaml.safe_load(stack.config_path.read_text())["users_file"]).read())
    doc["users"].append({"username": "slow", "name": "Slow", "email": "slow@example.com", "services": doc["users"][0]["services"],
                         "password_hash": "$2b$31$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22"})
    key = f"users[{len(doc['users']) - 1}].password_hash"
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump(doc, sort_keys=False))

    def change(cfg):
        cfg["users_file"] = str(users)
        cfg["accounts"]["listen"] = f"unix:{tmp_path}/accounts.sock"  # not the running stack's socket

    path = write_config(stack, tmp_path, change)
    rc, _, err = check("AccountsFCGI", path)
    assert rc == 2 and key in err, err
    started = time.monotonic()
    r = subprocess.run([str(BIN / "AccountsFCGI"), "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and key in r.stderr, (r.returncode, r.stderr)
    assert time.monotonic() - started < 30


def test_an_oversized_config_or_users_file_is_refused_not_read(stack, tmp_path):
    """A config file is a few KiB. One of 2 MiB (a product name pasted a million times, a log written over it) was read
    and served whole: every page carried it. Both files now have a size limit, named in the problem."""
    big = yaml.safe_load(stack.config_path.read_text())
    big["branding"] = {"product_name": "x" * (2 << 20)}
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(big, sort_keys=False, width=1 << 30))
    for program in ("AccountsFCGI", "AppAuthFCGI"):
        rc, out, err = check(program, path)
        assert rc == 2 and "OK" not in out, (program, out, err)
        assert f'(file): got "{path}'in err and "expected a regular file of at most 1 MiB" in err, err
    users = tmp_path / "users.yaml"
    doc = yaml.safe_load(open(yaml.safe_load(stack.config_path.read_text())["users_file"]).read())
    users.write_text(yaml.safe_dump(doc, sort_keys=False) + ("#" * 1023 + "\n") * (64 << 10))
    path = write_config(stack, tmp_path, lambda cfg: cfg.update(users_file=str(users)))
    rc, out, err = check("AccountsFCGI", path)
    assert rc == 2 and "expected a regular file of at most 64 MiB" in err, (out, err)


def test_a_cheap_password_hash_is_a_warning(stack, tmp_path):
    """`htpasswd -nbB` makes bcrypt cost 5: about 2 ms per guess, so a stolen users file gives the password away fast.
    It signs in (refusing it would lock the user out), but the check names the user and says how to make a new one."""
    doc = yaml.safe_load(open(yaml.safe_load(stack.config_path.read_text())["users_file"]).read())
    doc["users"].append({"username": "carol", "name": "Carol", "email": "carol@example.com", "services": doc["users"][0]["services"],
                         "password_hash": "$2y$05$KHB6zhyKLNLiTNEFJEH8pOHpmbhrttdesMpLH91DUdlz8pyvC/vqC"})
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump(doc, sort_keys=False))
    path = write_config(stack, tmp_path, lambda cfg: cfg.update(users_file=str(users)))
    rc, out, err = check("AccountsFCGI", path)
    assert rc == 0 and ": OK (" in out and "1 warning(s)" in out, (out, err)
    assert (f"warning: {users}: 1 user(s) have a password hash that is cheap to crack (carol: bcrypt cost 5 (at least 10))"
            in err), err


def test_warnings_do_not_fail(stack, tmp_path):
    """No memcached on the configured port, and the socket's folder missing: OK with a warning naming each."""
    silent = free_port()

    def change(cfg):
        cfg["memcached"]["servers"] = [f"127.0.0.1:{silent}"]
        cfg["accounts"]["listen"] = f"unix:{tmp_path}/no-such-folder/accounts.sock"
        cfg["accounts"]["allowed_users"] = []  # TCP-only (Apache's stack sets it): the next test's warning

    path = write_config(stack, tmp_path, change)
    rc, out, err = check("AccountsFCGI", path)
    assert rc == 0 and ": OK (" in out and "2 warning(s)" in out, (out, err)
    assert f'warning: memcached.servers[0]: "127.0.0.1:{silent}" does not answer' in err, err
    assert f"warning: accounts.listen: the folder {tmp_path}/no-such-folder does not exist" in err, err
    rc, out, err = check("AppAuthFCGI", path)
    assert rc == 0 and "1 warning(s)" in out and f'"127.0.0.1:{silent}" does not answer' in err, (out, err)


def test_tcp_only_settings_on_a_unix_socket_are_a_warning(stack, tmp_path):
    """allowed_users on a unix socket does nothing (the socket's group and mode decide): said, not silently ignored."""
    path = write_config(stack, tmp_path, lambda cfg: cfg["accounts"].update(listen=f"unix:{tmp_path}/accounts.sock",
                                                                           allowed_users=["root"]))
    rc, out, err = check("AccountsFCGI", path)
    assert rc == 0 and ": OK (" in out, (out, err)
    assert f"warning: accounts.allowed_users and allowed_addresses apply to TCP only: on the unix socket unix:{tmp_path}/accounts.sock" in err, err


def test_a_missing_socket_folder_is_named_at_start(stack, tmp_path):
    """Not libfcgi's bare `bind/listen: No such file or directory`: the path and the reason, exit code 1."""
    folder = tmp_path / "no-such-folder"
    path = write_config(stack, tmp_path, lambda cfg: cfg["accounts"].update(listen=f"unix:{folder}/accounts.sock"))
    r = subprocess.run([str(BIN / "AccountsFCGI"), "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"cannot listen on unix:{folder}/accounts.sock: its folder {folder}: No such file or directory" in r.stderr


def test_a_program_started_on_a_config_with_a_problem_does_not_serve(stack, tmp_path):
    """Fail closed at start, not only under --check-config: a typo (an unknown key) or a wrong value stops either program
    with exit code 2 and the problem on stderr; it never serves on what it could make of the rest."""
    def change(cfg):
        cfg["sessions"]["lifetyme"] = 5  # meant: lifetime
        for section, name in (("accounts", "accounts"), ("app_auth", "appauth")):
            cfg[section].update(listen=f"unix:{tmp_path}/{name}.sock", processes=0, socket_group="")
    path = write_config(stack, tmp_path, change)
    for program, socket in (("AccountsFCGI", "accounts.sock"), ("AppAuthFCGI", "appauth.sock")):
        proc = subprocess.Popen([str(BIN / program), "--config", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError(f"{program} kept running on a config with a problem")
        assert proc.returncode == 2, (program, proc.returncode, err)
        assert 'sessions.lifetyme: got "(unknown key)"' in err, (program, err)
        assert not (tmp_path / socket).exists(), program

def test_start_warns_and_errors_name_the_memcached_server(own_stack):
    s = own_stack
    server = f"127.0.0.1:{s.memcached_port}"
    b = Browser(s)
    assert b.sign_in(s.infusion + "/").status_code == 200
    s.stop_memcached()
    try:
        s.terminate("appauth")
        before = s.log_path("appauth").read_text(errors="replace")
        s.start_fcgi(("appauth",))
        deadline = time.time() + 10
        log = ""
        while time.time() < deadline and "memcached does not answer" not in log:
            log = s.log_path("appauth").read_text(errors="replace")[len(before):]
            time.sleep(0.1)
        warning = next((line for line in log.splitlines() if "memcached does not answer" in line), "")
        assert "warning" in warning and f"server={server}" in warning, log
        # A request meets the outage (fail closed), and the error logged names the server.
        assert b.get(s.infusion + "/x").status_code == 503
        deadline = time.time() + 10
        while time.time() < deadline and "store unavailable" not in log:
            log = s.log_path("appauth").read_text(errors="replace")[len(before):]
            time.sleep(0.1)
        error = next(line for line in log.splitlines() if "store unavailable" in line)
        assert f"({server})" in error, error
    finally:
        s.start_memcached()
