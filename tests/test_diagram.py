"""``cloudtwin diagram`` (issue 16 item 5): the graph a spec draws, its Mermaid and DOT text,
SVG through Graphviz's ``dot`` when it is installed, and the command's exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudtwin.blueprints import names
from cloudtwin.cli import app
from cloudtwin.render.diagram import Diagram, Edge, Group, Node, build
from cloudtwin.render.diagram_dot import DotMissing, quote, render_with_dot, to_dot
from cloudtwin.render.diagram_mermaid import label, to_mermaid
from cloudtwin.review.context import Context
from cloudtwin.spec import load_spec, parse_spec

HAS_DOT = shutil.which("dot") is not None
NO_DOT = "Graphviz's dot is not on PATH (apt-get install graphviz)"
ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
runner = CliRunner()


def kinds(d: Diagram, node_id: str) -> list[str]:
    return [g.kind for g in d.group_of(node_id)]


def edge(d: Diagram, src: str, dst: str) -> list[Edge]:
    return [e for e in d.edges if d.nodes[e.src].component == src and d.nodes[e.dst].component == dst]


def check_mermaid(text: str, d: Diagram) -> None:
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    opened = sum(1 for ln in lines if ln.strip().startswith("subgraph "))
    assert opened == sum(1 for ln in lines if ln.strip() == "end")
    for ln in lines[1:]:
        # a label is one quoted string with no quote inside it
        for lab in re.findall(r'"([^"]*)"', ln):
            assert "\n" not in lab
        assert ln.count('"') % 2 == 0, ln
    for e in d.edges:
        assert re.search(rf"^  {e.src} (-->|-\.->)", text, re.M)


def check_dot(text: str) -> None:
    body = re.sub(r'"(\\.|[^"\\])*"', '""', text)  # quoted strings out of the way
    assert body.count("{") == body.count("}")
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    for m in re.finditer(r"^\s*(\S+) -> (\S+?)[ ;]", body, re.M):
        assert ID.match(m.group(1)) and ID.match(m.group(2))


@pytest.mark.parametrize("name", names())
def test_every_blueprint_draws_as_mermaid_and_dot(name: str) -> None:
    arch = load_spec(name)
    d = build(arch)
    assert set(arch.components) <= {n.component for n in d.nodes.values()}
    assert set(arch.workloads) <= {n.component for n in d.nodes.values()}
    assert all(ID.match(i) for i in d.nodes)
    assert all(ID.match(g.id) for g in d.root.walk()[1:])
    check_mermaid(to_mermaid(d), d)
    check_dot(to_dot(d))
    # every link the review's graph knows is drawn (the diagram adds DLQs, rule targets...)
    drawn = {(a, b) for a, b, _ in d.links()}
    for src, targets in Context(arch).edges.items():
        for dst in targets:
            assert (src, dst) in drawn, (src, dst)
    for w in arch.workloads.values():
        assert any(b == w.entry for a, b, _ in d.links())


@pytest.mark.skipif(not HAS_DOT, reason=NO_DOT)
@pytest.mark.parametrize("name", names())
def test_dot_parses_and_draws_svg(name: str) -> None:
    svg = render_with_dot(to_dot(build(load_spec(name))), "svg").decode()
    assert "<svg" in svg and "</svg>" in svg


def test_web_app_cache_groups_zones_and_edges() -> None:
    d = build(load_spec("web-app-cache"))
    webs = d.of("web")
    assert len(webs) == 2  # 4 instances over 2 zones, one node per zone
    assert {d.nodes[n].zone for n in webs} == {"a", "b"}
    for n in webs:
        assert kinds(d, n) == ["cloud", "region", "vpc", "az", "asg"]
        assert "2 × m5.large" in d.nodes[n].label[1]
    assert kinds(d, d.of("lb")[0]) == ["cloud", "region", "vpc"]  # spans the zones
    assert kinds(d, d.of("dns")[0]) == ["cloud"]  # global
    assert kinds(d, d.of("shoppers")[0]) == []  # the clients, outside AWS
    db = {d.nodes[n].zone: d.nodes[n] for n in d.of("db")}
    assert "primary" in db["a"].label[1] and "standby" in db["b"].label[1]
    # synchronous request path; the on-miss database read goes to the primary only
    assert [e.sync for e in edge(d, "shoppers", "dns")] == [True]
    assert [e.sync for e in edge(d, "dns", "lb")] == [True]
    assert len(edge(d, "lb", "web")) == 2 and all(e.sync for e in edge(d, "lb", "web"))
    q = edge(d, "web", "db")
    assert {d.nodes[e.dst].zone for e in q} == {"a"} and all(e.sync and "on miss" in e.label for e in q)
    assert all("get" in e.label and "sessions" in e.label for e in edge(d, "web", "cache"))
    # replication: synchronous to the RDS standby, asynchronous to the cache replica
    assert [e.sync for e in edge(d, "db", "db")] == [True]
    assert [e.sync for e in edge(d, "cache", "cache")] == [False]


def test_ecs_sns_eventbridge_async_edges() -> None:
    d = build(load_spec("ecs-sns-eventbridge"))
    links = d.links()
    assert ("app", "orders", True) in links  # the publish call waits for Publish
    assert ("app", "orders-bus", True) in links
    assert ("orders", "order-jobs", False) in links  # delivery to the subscriber
    assert ("order-jobs", "fulfilment", False) in links  # the service polls the queue
    assert ("orders-bus", "invoicing", False) in links  # a rule target
    assert ("orders-bus", "invoicing-dlq", False) in links
    assert ("order-jobs", "order-jobs-dlq", False) in links
    assert kinds(d, d.of("fulfilment")[0]) == ["cloud", "region", "vpc"]
    assert kinds(d, d.of("orders")[0]) == ["cloud", "region"]
    mmd = to_mermaid(d)
    sub = d.of("orders")[0]
    assert re.search(rf"^  {sub} -\.-> {d.of('order-jobs')[0]}$", mmd, re.M)
    dot = to_dot(d)
    assert re.search(rf"^  {d.of('order-jobs')[0]} -> {d.of('fulfilment')[0]} \[.*style=dashed", dot, re.M)
    assert re.search(rf"^  {d.of('app')[0]} -> {sub} \[label=\"publish\"\];$", dot, re.M)


def test_event_processing_event_sources_and_dlqs() -> None:
    links = build(load_spec("event-processing")).links()
    assert ("orders-api", "orders", True) in links
    assert ("orders", "process-order", False) in links  # event source mapping
    assert ("notifications", "send-notification", False) in links
    assert ("send-notification", "notifications-dlq", False) in links
    assert ("orders", "orders-dlq", False) in links


SPEC = """\
name: shop
zones: [a, b, c]
components:
  web:
    type: ec2
    count: 2
    zones: [a, b, c]
    handler:
      - call: worker.invoke_async
      - call: db.query
  worker: {type: lambda, handler: [{cpu: 1ms}]}
  db: {type: rds, zone: b, read_replicas: 2}
workloads:
  users: {entry: web, rate: 5/s}
"""


def test_placement_async_invoke_and_results() -> None:
    arch = parse_spec(SPEC)
    results = {"spec": "shop", "components": {"web": {"requests": 1234, "errors": 5, "latency_ms": {"p99": 12.345}}},
               "workloads": {"users": {"requests": 1234, "failed": 5, "latency_ms": {"p99": 20}}}}
    d = build(arch, results)
    assert {d.nodes[n].zone for n in d.of("web")} == {"a", "b"}  # 2 instances: the first two zones
    db = {d.nodes[n].zone: d.nodes[n].label[1] for n in d.of("db")}
    assert "primary" in db["b"] and "replica" in db["c"] and "replica" in db["a"]
    assert ("web", "worker", False) in d.links() and ("web", "db", True) in d.links()
    assert all(d.nodes[e.dst].zone == "b" for e in edge(d, "web", "db"))
    web = d.nodes[d.of("web")[0]]
    assert web.figures == ("1,234 req · 5 err · p99 12.3 ms",)
    assert d.nodes[d.of("users")[0]].figures == ("1,234 req · 5 err · p99 20 ms",)
    assert "1,234 req" in to_mermaid(d) and "1,234 req" in to_dot(d)


NASTY = 'a "quoted" \\ back|slash <b> #35; `x` end'


def test_labels_are_escaped() -> None:
    m = label(NASTY + "\nline two")
    assert m.startswith('"') and m.endswith('"') and '"' not in m[1:-1]
    assert "<b>" not in m and "|" not in m and "<br/>" in m
    q = quote(NASTY)
    assert q == '"a \\"quoted\\" \\\\ back|slash <b> #35; `x` end"'
    n = Node("n_end", (NASTY,), "ec2", "compute", "end")
    d = Diagram("x\"y", Group("root", "", "", groups=[Group("g_end", NASTY, "az", nodes=["n_end"])]),
                {"n_end": n, "w_end": Node("w_end", ("w",), "workload", "client", "w")},
                [Edge("w_end", "n_end", NASTY, False, "call")])
    d.root.nodes.append("w_end")
    check_mermaid(to_mermaid(d), d)
    check_dot(to_dot(d))
    if HAS_DOT:
        assert b"<svg" in render_with_dot(to_dot(d), "svg")


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def test_cli_formats_by_suffix(tmp_path: Path) -> None:
    code, out, _ = cli("diagram", "simple-web-app")
    assert code == 0 and out.startswith("flowchart LR")
    assert cli("diagram", "simple-web-app", "-o", str(tmp_path / "d.mmd"))[0] == 0
    assert (tmp_path / "d.mmd").read_text().startswith("flowchart LR")
    assert cli("diagram", "simple-web-app", "-o", str(tmp_path / "d.dot"))[0] == 0
    assert (tmp_path / "d.dot").read_text().startswith('digraph "simple-web-app"')
    code, out, _ = cli("diagram", "simple-web-app", "-f", "json")
    assert code == 0 and json.loads(out)["name"] == "simple-web-app"
    code, _, err = cli("diagram", "simple-web-app", "-f", "png")
    assert code == 2 and "--output" in err


def test_cli_results(tmp_path: Path) -> None:
    res = tmp_path / "r.json"
    res.write_text(json.dumps({"spec": "simple-web-app", "components": {"lb": {"requests": 7, "errors": 0}}}))
    code, out, _ = cli("diagram", "simple-web-app", "--results", str(res))
    assert code == 0 and "7 req · 0 err" in out
    res.write_text("not json")
    code, _, err = cli("diagram", "simple-web-app", "--results", str(res))
    assert code == 2 and "not a results JSON" in err


def test_cli_bad_spec_points_at_file_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncomponents:\n  a: {type: nope}\n")
    code, _, err = cli("diagram", str(bad))
    assert code == 2 and re.match(rf"^{re.escape(str(bad))}:3: ", err)


def test_cli_without_dot_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "d.svg"
    env = {**os.environ, "PATH": str(tmp_path)}  # no dot there
    p = subprocess.run([sys.executable, "-m", "cloudtwin", "diagram", "simple-web-app", "-o", str(out)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "graphviz" in p.stderr and ".mmd" in p.stderr
    assert not out.exists()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DotMissing):
        render_with_dot("digraph {}", "svg")


@pytest.mark.skipif(not HAS_DOT, reason=NO_DOT)
def test_cli_svg_and_png(tmp_path: Path) -> None:
    assert cli("diagram", "web-app-cache", "-o", str(tmp_path / "d.svg"))[0] == 0
    assert "<svg" in (tmp_path / "d.svg").read_text()
    assert cli("diagram", "web-app-cache", "-o", str(tmp_path / "d.png"))[0] == 0
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")


def test_report_embeds_the_diagram(tmp_path: Path) -> None:
    from cloudtwin.render.diagram_html import diagram_html

    frag = diagram_html(load_spec("web-app-cache"))
    assert ("<svg" in frag) == HAS_DOT and ("<pre>flowchart LR" in frag) == (not HAS_DOT)
    assert "<?xml" not in frag and "<!DOCTYPE" not in frag
    assert not re.search(r"(src|href)=\"https?:", frag)  # nothing fetched
    html = tmp_path / "r.html"
    code, _, err = cli("run", "simple-web-app", "--duration", "1m", "-q", "--report", str(html))
    assert code == 0, err
    page = html.read_text()
    assert '<section id="s0"><h2>Architecture</h2>' in page and "n_lb" in page
