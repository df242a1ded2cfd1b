"""A real browser for the e2e tests: Debian's chromium driven through its chromedriver by
Selenium, headless, with nothing fetched from the network.

Decisions:
- The driver and the browser are the distribution's (/usr/bin): Selenium Manager, which would
  download a matching pair, is never asked (the Service is given its executable, and
  SE_OFFLINE is set in case anything still reaches for it).
- A missing chromium skips the test on a developer's machine, but fails it under CI (`CI` set):
  `.ci/run` installs it, and the review desk's browser test may not silently vanish.
- Each browser gets a new empty profile in a temporary directory and every background fetch
  Chromium makes on its own (updates, sync, QUIC probes) is turned off.
- Screenshots go to docs/screenshots when WRITE_SCREENSHOTS=1 (the set the README
  shows), else to a temporary directory, so a test run never dirties the clone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 900
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", f"--window-size={WIDTH},{HEIGHT}")


def require_chromium() -> None:
    """Skip when chromium is absent on a developer's machine; fail under CI."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if not missing:
        return
    why = f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"the browser test is required under CI: {why}")
    pytest.skip(why)


def screenshot_dir(tmp_path: Path) -> Path:
    if os.environ.get("WRITE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium under Selenium, closed (and its profile removed) on exit."""
    require_chromium()
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="outreach-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    try:
        # The page's own area is WIDTH x HEIGHT (the window size counts the browser's frame).
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shoot(driver: Any, directory: Path, name: str) -> Path:
    """The page's visible area as `directory/name.png` (WIDTH x HEIGHT)."""
    path = directory / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot of {driver.current_url}"
    return path


def until(what: str, check: Callable[[], Any], seconds: float, every: float = 0.5,
          between: Callable[[], None] | None = None) -> Any:
    """`check()` once it is truthy, within `seconds`; `between()` runs before each retry (a
    reload, say). The failure says what was awaited and the last value seen."""
    deadline, last = time.monotonic() + seconds, None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds}s (last: {last!r})")
        time.sleep(every)
        if between is not None:
            between()
