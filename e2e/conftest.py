"""Fixtures for both end-to-end suites, e2e/http and e2e/browser: real nginx (and Apache), memcached and both FastCGI
programs on loopback. What tests import is in helpers.py, pages.py and fcgi_client.py, never in this file."""
import pytest
import urllib3.util.connection as urllib3_connection

from helpers import SERVERS, Browser, Stack, crash_lines, log_tails, make_stack, new_driver

# Every *.test name resolves to 127.0.0.1 for this process only (what curl --resolve does); nothing leaves loopback.
_create_connection = urllib3_connection.create_connection


def _loopback_create_connection(address, *args, **kwargs):
    host, port = address
    if host.endswith(".test"):
        host = "127.0.0.1"
    return _create_connection((host, port), *args, **kwargs)


urllib3_connection.create_connection = _loopback_create_connection


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the logs of every stack it used (see log_tails)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            for one in value if isinstance(value, tuple) else (value,):  # held_stack gives (stack, proxy)
                if isinstance(one, Stack):
                    report.sections.append((f"logs of {name} ({one.server})", log_tails(one)))


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory):
    """Where every stack of the run keeps its state; at the end, every program log in it is read for a crash: the
    supervisor replaces a crashed worker within a second, so a crash could otherwise pass every test unseen."""
    root = tmp_path_factory.mktemp("stacks")
    yield root
    crashes = [f"{log.parent.parent.name}/{line}" for log in sorted(root.glob("*/logs/*.log"))
               for line in crash_lines(log)]
    assert not crashes, "a program crashed during the run:\n" + "\n".join(crashes[:60])


@pytest.fixture(scope="module", params=SERVERS)
def stack(request, tmp_root):
    s = make_stack(tmp_root, request.param)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module", params=SERVERS)
def short_stack(request, tmp_root):
    """Short clocks: idle timeout 3 s on both services, absolute lifetime 8 s, requestID TTL 2 s, access written every 1 s."""
    s = make_stack(tmp_root, request.param, idle={"infusion": 3, "dextor": 3}, lifetime=8, request_id_ttl=2,
                   last_access_interval=1, cache_ttl=2)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module", params=SERVERS)
def own_stack(request, tmp_root):
    """A stack for one test module alone, at log level info as in production: its tests stop and start its programs
    and its memcached, and count its log lines."""
    s = make_stack(tmp_root, request.param, log_level="info")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def browser(stack):
    return Browser(stack)


@pytest.fixture
def driver(tmp_path):
    d = new_driver(tmp_path / "profile")
    yield d
    d.quit()
