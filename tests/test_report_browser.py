"""The HTML report in a real browser: Debian's headless Chromium, driven by chromedriver.

For several blueprints (their golden results plus the static review), the report is
opened from a file and checked: no console message at level SEVERE (script errors,
Content-Security-Policy refusals, failed fetches), every time-series chart drawn with
data, every latency distribution with bars, hover shows values, a drag zooms every chart,
the timeline filter filters. A full-page screenshot of each report goes to
``$CLOUDTWIN_SCREENSHOTS`` when set (e.g. ``out/screenshots``), else to pytest's tmp dir.

Chromium and chromedriver must be installed (``.ci/run`` installs Debian's ``chromium``
and ``chromium-driver``): without them the test FAILS, so CI never passes without
running it. For a local loop without a browser, ``CLOUDTWIN_SKIP_BROWSER=1`` skips it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudtwin import load_spec
from cloudtwin.render.report import write_report
from cloudtwin.review import review

GOLDEN = Path(__file__).resolve().parent / "golden"
BLUEPRINTS = ("simple-web-app", "apigw-kinesis", "big-data-pipeline", "serverless-rest", "ecs-sqs")


def _binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    if os.environ.get("CLOUDTWIN_SKIP_BROWSER"):
        pytest.skip("CLOUDTWIN_SKIP_BROWSER is set and chromium/chromedriver are not installed")
    pytest.fail("the browser test needs chromium and chromedriver on PATH: apt-get install chromium "
                "chromium-driver (or set CLOUDTWIN_SKIP_BROWSER=1 to skip it locally)", pytrace=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver_path = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,900", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("CLOUDTWIN_SCREENSHOTS")
    out = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _report(name: str, where: Path) -> Path:
    results = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return write_report(results, where / f"{name}.html", review(load_spec(name)).to_dict())


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_report_in_chromium(name: str, browser: Any, shots: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    page = _report(name, tmp_path)
    browser.get_log("browser")  # drop what an earlier page left
    browser.get(page.as_uri())
    charts = browser.find_elements(By.CSS_SELECTOR, ".chart.ts")
    assert charts, "no time-series chart"
    for chart in charts:
        title = chart.find_element(By.TAG_NAME, "h3").text
        paths = chart.find_elements(By.CSS_SELECTOR, ".plot path")
        assert paths, f"{name}: chart {title!r} was not drawn"
        assert any("H" in (p.get_attribute("d") or "") for p in paths), f"{name}: chart {title!r} has no data"
    bars = browser.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert any(float(b.get_attribute("height") or 0) > 0 for b in bars), f"{name}: no latency distribution"

    # hover: the tooltip names the time and each series' value
    first = charts[0].find_element(By.CSS_SELECTOR, ".plot svg")
    ActionChains(browser).move_to_element(first).perform()
    tip = browser.find_element(By.ID, "tip")
    assert tip.is_displayed() and tip.text.startswith("t = "), tip.text
    # drag across the first chart: every chart zooms to that span
    before = [c.find_element(By.CSS_SELECTOR, ".plot path").get_attribute("d") for c in charts]
    ActionChains(browser).move_to_element_with_offset(first, -150, 0).click_and_hold() \
        .move_by_offset(200, 0).release().perform()
    assert browser.find_element(By.ID, "span").text.startswith("showing ")
    after = [c.find_element(By.CSS_SELECTOR, ".plot path").get_attribute("d") for c in charts]
    assert all(a != b for a, b in zip(after, before, strict=True)), "a chart did not zoom"
    browser.find_element(By.ID, "reset").click()

    # the timeline: all of it, filtered by text
    rows = browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")
    if rows:
        box = browser.find_element(By.ID, "tl-q")
        box.send_keys("zzz-no-such-entry")
        assert browser.find_element(By.ID, "tl-n").text == f"0 of {len(rows)} entries"
        box.clear()
        box.send_keys(" ")  # 'input' fires; every row has a space
        assert not any(r.get_attribute("hidden") for r in rows[:5])

    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, f"{name}: console errors: {errors}"

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 20, 16000))
    assert browser.save_screenshot(str(shots / f"{name}.png"))
    browser.set_window_size(1200, 900)
