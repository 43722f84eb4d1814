"""The HTML report in a real headless browser: Debian's Chromium driven by Playwright for Python.

The browser comes from the distribution (``apt-get install chromium``; .ci/run installs it when
missing), never from ``playwright install``. Under .ci/run (TOKENFAB_BROWSER_TEST=1) a missing
browser fails the test instead of skipping it.
"""

import json
import os
import shutil

import pytest
from tokenfab.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPORT = [
    "report",
    "--model",
    "llama-3.1-8b",
    "--backends",
    "nvidia:h100-sxm,amd:mi300x,groq:lpu",
    "--tokens-per-user",
    "50",
    "--input",
    "1000",
    "--output",
    "200",
]


def _browser_or_skip():
    required = os.environ.get("TOKENFAB_BROWSER_TEST") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not os.path.exists(CHROMIUM):
        if required:
            pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
        pytest.skip("no system Chromium (apt-get install -y chromium)")
    return sync_playwright


def test_report_page_in_chromium(tmp_path, capsys):
    sync_playwright = _browser_or_skip()
    page_path = tmp_path / "report.html"
    assert main([*REPORT, "--html", str(page_path)]) == 0
    capsys.readouterr()
    assert main([*REPORT, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    html = page_path.read_text()
    assert "<script src" not in html and "<link" not in html  # nothing fetched: the page is self-contained

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route(
            "**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_()
        )
        page.goto(page_path.as_uri())
        page.wait_for_selector("#plan-table tbody tr")

        # one series per backend of the Pareto data
        backends = sorted({r["backend"] for r in data["pareto"]["rows"]})
        drawn = sorted(page.eval_on_selector_all("#pareto-chart g.series", "els => els.map(e => e.dataset.backend)"))
        assert drawn == backends and len(drawn) == 3

        # the table rows are the --json rows, in order
        rows = page.eval_on_selector_all(
            "#plan-table tbody tr",
            "els => els.map(e => [e.dataset.backend, Number(e.dataset.devices), Number(e.dataset.batch),"
            " e.dataset.weights, e.dataset.usdPerMtok])",
        )
        expected = [
            [
                r["backend"],
                r["devices"],
                r["batch"],
                r["weights"],
                "" if r["usd_per_mtok"] is None else repr(r["usd_per_mtok"]),
            ]
            for r in data["rows"]
        ]
        assert [row[:4] for row in rows] == [row[:4] for row in expected]
        assert [float(row[4]) if row[4] else None for row in rows] == [r["usd_per_mtok"] for r in data["rows"]]

        # choosing another deployment redraws the breakdown with that deployment's numbers
        before = page.inner_text("#breakdown tbody")
        page.select_option("#deployment", "1")
        after = page.inner_text("#breakdown tbody")
        assert before != after
        first_total = page.inner_text("#breakdown tbody tr:first-child td[data-key=seconds]")
        op = data["breakdowns"][1]["decode"][0]
        assert first_total.endswith(("s", "ms", "µs")) and op["name"] in after

        # the legend hides a series
        page.click("#pareto-legend button >> nth=0")
        assert page.eval_on_selector_all("#pareto-chart g.series.hidden", "els => els.length") == 1
        browser.close()
    assert errors == []
