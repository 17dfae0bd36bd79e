"""Tests for the terminal summary and the self-contained HTML report."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from cloudtwin.render.report import render_report, write_report
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
    assert "monthly = window x 730 h extrapolation" in out
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
def test_report_is_self_contained() -> None:
    page = render_report(RESULTS)
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "Content-Security-Policy" in page


def test_report_content() -> None:
    page = render_report(RESULTS)
    assert "web-app-cache" in page
    assert "seed 1" in page and "1:00:00" in page
    assert page.count("<svg") == 4  # requests, errors, p99, in-service
    assert "99.931%" in page and "1,440,000" in page
    assert "monthly = window x 730 h extrapolation" in page
    assert "In-service instances" in page
    assert "shoppers" in page and "az_outage a" in page


def _fault_rects(page: str) -> list[tuple[float, float]]:
    return [(float(x), float(w)) for x, w in
            re.findall(r'<rect class="fault" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', page)]


def test_report_shades_fault_window_on_every_chart() -> None:
    page = render_report(RESULTS)
    rects = _fault_rects(page)
    assert len(rects) == 4  # one per chart
    # Plot spans 0..3600 s over the plot width, so [1200, 2100] s is 1/3 .. 7/12.
    from cloudtwin.render.report import ML, MR, W
    pw = W - ML - MR
    for x, w in rects:
        assert abs(x - (ML + pw * 1200 / 3600)) < 0.2
        assert abs(w - pw * 900 / 3600) < 0.2


def test_report_fault_without_duration_is_a_line() -> None:
    r = copy.deepcopy(RESULTS)
    r["timeline"] = [{"t": 600.0, "kind": "fault", "detail": "kill web-1"}]
    page = render_report(r)
    assert _fault_rects(page) == []
    assert page.count('<line class="fault"') == 4


def test_report_escapes_user_strings() -> None:
    evil = "<script>alert(1)</script>"
    r = copy.deepcopy(RESULTS)
    r["spec"] = evil
    r["workloads"] = {evil: r["workloads"]["shoppers"]}
    r["series"]["workloads"] = {evil: r["series"]["workloads"]["shoppers"]}
    r["timeline"][0]["detail"] = evil
    page = render_report(r)
    assert evil not in page
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_empty_results() -> None:
    page = render_report(EMPTY)
    assert "nothing" in page
    assert "No time series" in page
    assert "<svg" not in page


def test_report_p99_gap_when_no_requests() -> None:
    r = copy.deepcopy(RESULTS)
    r["series"]["workloads"]["shoppers"]["requests"] = [1, 0, 3]
    page = render_report(r)
    p99_chart = page.split('aria-label="p99 latency')[1].split("</svg>")[0]
    path = re.search(r'<path d="([^"]+)"', p99_chart)
    assert path is not None
    assert path.group(1).count("M") == 2  # line broken around the empty minute


def test_write_report(tmp_path: Path) -> None:
    out = write_report(RESULTS, tmp_path / "r.html")
    assert out.read_text(encoding="utf-8") == render_report(RESULTS)
