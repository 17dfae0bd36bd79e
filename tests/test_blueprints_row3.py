"""Blueprint row 3, "With Database/Cache: sticky sessions": terminating an instance loses
exactly the sessions pinned to it.

The run is watched twice: the live sessions and the instance holding each one's state
are snapshotted the instant before the fault fires, and every session request's outcome
is logged. The claim is checked session by session: the lost sessions are pinned ones,
and every pinned session is lost unless it made its last request before the ALB stopped
routing to the dead instance (its requests there fail ``unavailable``; the user carries
on, and has nothing left to lose).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from cloudtwin import Results, Simulation, load_spec
from cloudtwin.request import SESSION_LOST, UNAVAILABLE, Session

NAME = "web-app-sticky"


class Watched:
    """One run of the blueprint with its per-session log and the snapshot at the fault."""

    def __init__(self) -> None:
        arch = load_spec(NAME)
        [fault] = arch.faults
        self.t_fault = fault.at
        self.sim = sim = Simulation(arch)
        self.log: dict[int, list[tuple[float, str | None]]] = defaultdict(list)
        self.snapshot: dict[int, tuple[Session, str | None]] = {}
        w = sim.workloads["users"]
        orig = w.complete

        def spy(req: Any, err: str | None) -> None:
            if req.session is not None:
                self.log[req.session.sid].append((sim.engine.now, err))
            orig(req, err)

        w.complete = spy

        def snap(_: object) -> None:
            for sid, s in w.live_sessions.items():
                self.snapshot[sid] = (s, s.home.iid if s.has_state else None)

        sim.engine.at(self.t_fault, snap)  # scheduled before the fault: runs just before it
        self.res: Results = sim.run()

    def timeline(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.res["timeline"] if e["kind"] == kind]


@pytest.fixture(scope="module")
def run() -> Watched:
    return Watched()


def test_blueprint_is_row_3() -> None:
    arch = load_spec(NAME)
    assert arch.blueprint is not None and arch.blueprint.section == "With Database/Cache: sticky sessions"
    lb: Any = arch.components["lb"]
    assert lb.sticky is not None and lb.sticky.type is None  # true: the ALB default, lb_cookie
    web: Any = arch.components["web"]
    assert web.capacity.min == web.capacity.desired == 4 and web.zones == ["a", "b"]
    assert arch.workloads["users"].sessions.state == "instance"  # type: ignore[union-attr]


def test_the_timeline_says_how_many_sessions_the_instance_held(run: Watched) -> None:
    [note] = run.timeline("sessions")
    assert note["t"] == run.t_fault and note["workload"] == "users"
    victim = note["instance"]
    pinned = {sid for sid, (_, home) in run.snapshot.items() if home == victim}
    assert note["pinned"] == len(pinned) > 100
    assert note["live"] == len(run.snapshot)


def test_exactly_the_pinned_sessions_are_lost(run: Watched) -> None:
    [note] = run.timeline("sessions")
    victim = note["instance"]
    pinned = {sid for sid, (_, home) in run.snapshot.items() if home == victim}
    lost = {sid for sid, (sess, _) in run.snapshot.items() if sess.lost}
    assert note["pinned"] == len(pinned) > 100
    assert lost == pinned  # exactly: no session of another instance, and every pinned one
    assert run.res["sessions"]["lost"] == note["pinned"]
    # The ALB stops routing to the dead instance when the group deregisters it.
    t_out = next(e["t"] for e in run.timeline("health") if e.get("target") == victim and e["state"] == "draining")
    assert 0 < t_out - run.t_fault <= 10.0  # the group's health check runs every 10 s
    for sid in pinned:
        after = [(t, err) for t, err in run.log[sid] if t >= run.t_fault]
        assert after, sid  # every pinned session came back after the fault
        # Its next request after the kill ends it: `unavailable` while the ALB still sends
        # it to the dead instance, `session_lost` once it is rerouted to another one.
        assert len(after) == 1
        t, err = after[0]
        assert err == (UNAVAILABLE if t <= t_out else SESSION_LOST)


def test_one_of_four_sticky_instances_holds_a_quarter_of_the_live_sessions(run: Watched) -> None:
    [note] = run.timeline("sessions")
    live = note["live"]
    assert live > 400
    assert note["pinned"] / live == pytest.approx(0.25, abs=0.03)
    assert run.res["sessions"]["lost"] / live == pytest.approx(0.25, abs=0.03)


def test_other_sessions_ride_out_the_detection_window(run: Watched) -> None:
    """Sessions that met the dead instance without state on it (new users routed there
    before deregistration) fail ``unavailable`` and carry on."""
    [note] = run.timeline("sessions")
    victim = note["instance"]
    hit = {sid for sid, outcomes in run.log.items() if any(err == UNAVAILABLE for _, err in outcomes)}
    bystanders = {sid for sid in hit if run.snapshot.get(sid, (None, None))[1] != victim}
    assert len(bystanders) >= 5
    assert not any(err == SESSION_LOST for sid in bystanders for _, err in run.log[sid])
    w = run.res.workload("users")
    # session_lost counts requests that found the state missing (rerouted sessions); the
    # sessions whose next request failed `unavailable` on the dead instance are lost too.
    assert 0 < w["errors"]["session_lost"] < run.res["sessions"]["lost"]
    assert set(k for k, v in w["errors"].items() if v) == {UNAVAILABLE, SESSION_LOST}


def test_the_group_replaces_the_instance_without_scaling(run: Watched) -> None:
    s = run.res["series"]["components"]["web"]
    assert s["desired"] == [4.0] * len(s["desired"])
    assert s["in_service"][-1] == 4 and min(s["in_service"]) == 3
    assert run.res.component("web")["launched"] == 1
