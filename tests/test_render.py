"""Tests for the terminal summary and the self-contained HTML report."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from cloudtwin.render.report import SCRIPT, render_report, write_report
from cloudtwin.render.summary import print_summary, render_summary

RESULTS: dict[str, Any] = {
    "spec": "web-app-cache", "seed": 1, "simulated_s": 3600.0, "wall_s": 4.2,
    "events": 123456789,
    "workloads": {
        "shoppers": {
            "requests": 1440000, "succeeded": 1439000, "failed": 1000, "in_flight": 0,
            "availability": 0.99931,
            "errors": {"timeout": 0, "throttled": 0, "unavailable": 1000, "rejected": 0,
                       "server_error": 0, "session_lost": 0},
            "latency_ms": {"mean": 12.1, "min": 1.9, "p50": 9.8, "p90": 20.0, "p99": 48.0,
                           "p999": 120.0, "max": 900.0},
        }
    },
    "components": {"web": {"type": "asg", "requests": 0, "errors": 0, "utilization": 0.41,
                           "latency_ms": {}, "instances": {"min": 2, "max": 7}}},
    "messages": {"published": 0, "delivered": 0, "dead_lettered": 0, "expired": 0,
                 "in_flight": 0, "duplicates": 0, "lost": 0},
    "sessions": {"started": 0, "completed": 0, "lost": 0, "active": 0},
    "cost": {"window_usd": 1.25, "monthly_usd": 912.5, "by_component": {}, "unpriced": []},
    "timeline": [
        {"t": 1200.0, "kind": "fault", "detail": "az_outage a", "duration_s": 900.0},
        {"t": 1260.0, "kind": "scaling", "detail": "web 4 -> 6"},
    ],
    "series": {
        "step_s": 60.0, "t": [0.0, 60.0, 120.0],
        "workloads": {"shoppers": {"requests": [1, 2, 3], "errors": [0, 0, 1],
                                   "p99_ms": [10.0, 11.0, 0.0]}},
        "components": {"web": {"in_service": [4, 4, 3], "utilization": [0.4, 0.41, 0.5]}},
    },
}

EMPTY: dict[str, Any] = {"spec": "nothing", "workloads": {}}


def _text(results: dict[str, Any]) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(render_summary(results))
    return console.export_text()


# ---------------------------------------------------------------- terminal
def test_summary_shows_workload_and_availability() -> None:
    out = _text(RESULTS)
    assert "shoppers" in out
    assert "99.931%" in out
    assert "1,440,000" in out and "1,439,000" in out
    assert "unavailable 1,000" in out
    assert "48.0" in out and "120" in out  # p99 and p999 ms


def test_summary_components_messages_cost_timeline() -> None:
    out = _text(RESULTS)
    assert "web" in out and "asg" in out and "utilisation 41.0%" in out
    assert "in service 2-7" in out
    assert "messages:" in out and "dead_lettered 0" in out
    assert "sessions:" in out
    assert "if that window repeated all month" in out
    assert "$912.50" in out
    assert "az_outage a" in out and "0:20:00" in out and "0:15:00" in out
    assert "web 4 -> 6" in out


def test_summary_timeline_limited_to_15() -> None:
    r = copy.deepcopy(RESULTS)
    r["timeline"] = [{"t": float(i), "kind": "scaling", "detail": f"step-{i:02d}"}
                     for i in range(40)]
    out = _text(r)
    assert "step-14" in out and "step-15" not in out
    assert "25 more" in out


def _component_row(c: dict[str, Any]) -> str:
    out = _text({"spec": "x", "workloads": {}, "components": {"c": c}})
    return next(line for line in out.splitlines() if line.startswith("│ c "))


def test_component_rows_show_what_matters_for_the_type() -> None:
    firehose = _component_row({"type": "firehose", "requests": 0, "errors": 0, "records_in": 459875,
                               "records_delivered": 453006, "objects": 101, "buffered": 6789})
    assert "459,875" in firehose and "delivered 453,006" in firehose and "│       0 │" not in firehose
    dlq = _component_row({"type": "sqs", "requests": 0, "sent": 0, "dead_letters_in": 57, "visible": 57,
                          "max_visible": 57, "in_flight": 0, "delivered": 0})
    assert "│      57 │" in dlq and "depth 57" in dlq and "dead letters in 57" in dlq
    fn = _component_row({"type": "lambda", "requests": 2792, "invocations": 2792, "max_concurrency": 9,
                         "throttles": 4})
    assert "peak concurrency 9" in fn and "throttles 4" in fn
    cache = _component_row({"type": "elasticache", "requests": 10, "hit_ratio": 0.774849, "hits": 7,
                            "misses": 2})
    assert "hit ratio 77.5%" in cache


def test_tables_fit_80_columns_without_cutting_a_number() -> None:
    from cloudtwin.render.summary import fit_table, workload_table

    r = copy.deepcopy(RESULTS)
    r["workloads"]["a-rather-long-workload-name"] = r["workloads"]["shoppers"]
    console = Console(record=True, width=80, color_system=None)
    print_summary(r, console=console)
    out = console.export_text()
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "…" not in out
    assert "1,440,000" in out and "99.931%" in out
    _, dropped = fit_table(workload_table(r), 80)
    assert dropped and f"not shown to fit 80 columns: {', '.join(dropped)}" in " ".join(out.split())


def test_summary_no_cost_line_without_monthly() -> None:
    r = copy.deepcopy(RESULTS)
    del r["cost"]["monthly_usd"]
    assert "extrapolation" not in _text(r)


def test_summary_empty_results_and_markup_safety() -> None:
    out = _text(EMPTY)
    assert "nothing" in out and "no workloads" in out
    weird = {"spec": "[bold]x[/nope]", "workloads": {"[red]w[/]": {"requests": "junk"}},
             "components": {"c": None}, "timeline": [None, {"t": "x"}], "series": 3}
    out = _text(weird)
    assert "[bold]x[/nope]" in out and "[red]w[/]" in out


def test_print_summary_uses_given_console() -> None:
    console = Console(record=True, width=120, color_system=None)
    print_summary(RESULTS, console=console)
    assert "99.931%" in console.export_text()


# ------------------------------------------------------------------- HTML
def _data(page: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="cloudtwin-data">(.*?)</script>', page, re.S)
    assert block is not None
    return json.loads(block.group(1))  # type: ignore[no-any-return]


def _scripts(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", page, re.S)


def test_report_is_self_contained() -> None:
    page = render_report(RESULTS)
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<link" not in page.lower() and " src=" not in page.lower()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = html.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "connect-src" not in policy and "unsafe-eval" not in policy
    scripts = _scripts(page)
    assert len(scripts) == 1 and scripts[0] == SCRIPT
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy  # only this script runs
    assert len(SCRIPT.encode()) < 10_000  # a few kB, no library
    for word in ("fetch(", "XMLHttpRequest", "import(", "eval(", "WebSocket"):
        assert word not in SCRIPT


def test_report_content() -> None:
    page = render_report(RESULTS)
    assert "web-app-cache" in page
    assert "seed 1" in page and "1:00:00" in page
    assert "99.931%" in page and "1,440,000" in page
    assert "if that window repeated all month" in page
    assert "shoppers" in page and "az_outage a" in page
    titles = [c["title"] for c in _data(page)["charts"]]
    assert titles == ["Requests completed per minute", "Errors per minute",
                      "shoppers: latency percentiles per minute (ms)",
                      "web (asg): instances", "web (asg): utilisation (%)"]
    assert page.count('class="chart ts"') == len(titles)


def test_report_every_series_says_how_it_is_sampled() -> None:
    r = copy.deepcopy(RESULTS)
    r["series"]["sampling"] = {"requests": "sum", "errors": "sum", "p99_ms": "p99", "in_service": "level",
                               "utilization": "mean"}
    charts = {c["title"]: c for c in _data(render_report(r))["charts"]}
    assert charts["web (asg): instances"]["series"][0]["kind"] == "level"
    assert charts["web (asg): utilisation (%)"]["series"][0]["kind"] == "mean"
    assert charts["web (asg): utilisation (%)"]["scale"] == 100
    assert charts["Requests completed per minute"]["series"][0]["kind"] == "sum"


def test_report_shades_faults_and_load_spikes() -> None:
    r = copy.deepcopy(RESULTS)
    r["timeline"].append({"t": 1500.0, "kind": "load", "detail": "shoppers: spike x3", "duration_s": 300.0})
    r["timeline"].append({"t": 600.0, "kind": "fault", "detail": "kill web-1"})
    shades = _data(render_report(r))["shades"]
    assert {"a": 1200.0, "b": 2100.0, "kind": "fault"}.items() <= shades[0].items()
    assert shades[1]["kind"] == "load" and shades[1]["a"] == 1500.0 and shades[1]["b"] == 1800.0
    assert shades[2]["b"] is None  # a fault without duration: a line


def test_report_escapes_user_strings() -> None:
    evil = "<script>alert(1)</script>"
    r = copy.deepcopy(RESULTS)
    r["spec"] = evil
    r["workloads"] = {evil: r["workloads"]["shoppers"]}
    r["series"]["workloads"] = {evil: r["series"]["workloads"]["shoppers"]}
    r["timeline"][0]["detail"] = evil
    page = render_report(r)
    assert evil not in page
    assert page.lower().count("<script") == 2  # the data block and the report's own script
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert evil in json.dumps(_data(page))  # the data block keeps it, as \u003c...


def test_report_empty_results() -> None:
    page = render_report(EMPTY)
    assert "nothing" in page
    assert "No time series" in page
    assert "<svg" not in page and "<script" not in page


def test_report_p99_gap_when_no_requests() -> None:
    r = copy.deepcopy(RESULTS)
    r["series"]["workloads"]["shoppers"]["requests"] = [1, 0, 3]
    charts = {c["title"]: c for c in _data(render_report(r))["charts"]}
    assert charts["shoppers: latency percentiles per minute (ms)"]["series"][0]["v"] == [10.0, None, 0.0]


def test_report_lists_the_whole_timeline_with_a_filter() -> None:
    r = copy.deepcopy(RESULTS)
    r["timeline"] = [{"t": float(i), "kind": "scaling" if i % 2 else "health", "detail": f"step-{i:02d}"}
                     for i in range(40)]
    page = render_report(r)
    assert "step-39" in page and "more timeline entries" not in page
    assert 'id="tl-q"' in page and '<option value="health">' in page
    assert page.count('data-kind="scaling"') == 20


def test_report_lists_review_findings_and_unpriced_items() -> None:
    r = copy.deepcopy(RESULTS)
    r["cost"]["unpriced"] = [{"component": "cache", "usage_type": "NodeUsage:cache.m5.large", "quantity": 2}]
    finding = {"rule": "REL-1", "title": "Single AZ", "pillar": "reliability", "severity": "high",
               "message": "web runs in one zone", "fix": "use two", "location": {"path": "components.web"},
               "component": "web"}
    page = render_report(r, {"findings": [finding], "counts": {"high": 1, "medium": 0, "low": 0}})
    assert "Single AZ" in page and "web runs in one zone" in page and "1 high" in page
    assert "(at least: 1 item(s) unpriced" in page and "NodeUsage:cache.m5.large" in page


def test_report_latency_distribution() -> None:
    r = copy.deepcopy(RESULTS)
    r["latency_histograms"] = {"shoppers": {"le_ms": [1.0, 1.259, 1.585], "counts": [5, 0, 2]}}
    page = render_report(r)
    assert "shoppers: latency distribution (7 requests)" in page
    assert page.count('<rect class="bar"') == 3


def test_write_report(tmp_path: Path) -> None:
    out = write_report(RESULTS, tmp_path / "r.html")
    assert out.read_text(encoding="utf-8") == render_report(RESULTS)
