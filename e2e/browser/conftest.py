"""Headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) against real stacks."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from ssostack import Stack  # noqa: E402

BIN = Path(os.environ.get("SSO_BIN", ROOT / ".build" / "debug"))
SERVERS = [s for s in os.environ.get("SSO_SERVERS", "nginx").split(",") if s]
ARTIFACTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module", params=SERVERS)
def stack(request, tmp_path_factory):
    state = tempfile.mkdtemp(prefix=f"sso-browser-{request.param}-", dir=tmp_path_factory.mktemp("browser"))
    s = Stack(state, BIN, server=request.param, log_level="info")
    s.start()
    yield s
    s.stop()


def new_driver(profile_dir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--host-resolver-rules=MAP *.test 127.0.0.1", "--ignore-certificate-errors", "--no-proxy-server",
                "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", f"--user-data-dir={profile_dir}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(20)
    return driver


@pytest.fixture
def driver(tmp_path):
    d = new_driver(tmp_path / "profile")
    yield d
    d.quit()
