"""The terminal summary's flow table and the directconnect/vpn key figures, from the
dx-vpn-backup golden results."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from cloudtwin.render.flows_summary import flow_table
from cloudtwin.render.summary import key_figures, render_summary

GOLDEN = json.loads((Path(__file__).parent / "golden" / "dx-vpn-backup.json").read_text(encoding="utf-8"))


def test_one_row_per_flow_with_bytes_by_cause():
    t = flow_table(GOLDEN)
    rows = {r[0]: r for r in t.rows}
    assert set(rows) == {"replication", "users"}
    f = GOLDEN["flows"]["replication"]
    assert rows["replication"][2] == f"{f['sent_bytes'] / 1e9:,.1f}"
    assert rows["replication"][5] == (f"link_down {f['dropped_by_cause']['link_down'] / 1e9:,.1f}, "
                                      f"queue {f['dropped_by_cause']['queue'] / 1e9:,.1f}")
    assert rows["users"][5] == f"link_down {GOLDEN['flows']['users']['dropped_by_cause']['link_down'] / 1e9:,.1f}"
    assert rows["users"][6] == "1.00" and rows["users"][7] == "dx"


def test_no_flows_no_table_and_key_figures():
    assert flow_table({"flows": {}}).rows == []
    assert "link failures 1" in key_figures(GOLDEN["components"]["dx"])
    assert "BGP hold timer 90 s" in key_figures(GOLDEN["components"]["dx"])
    con = Console(width=150, record=True)
    con.print(render_summary(GOLDEN, 150))
    assert "Flows (GB; Gbps per minute)" in con.export_text()


def test_the_html_report_has_the_flow_table():
    from cloudtwin.render.report import render_report

    html = render_report(GOLDEN)
    assert "<h2>Network flows</h2>" in html and "account" not in html and "replication" in html
