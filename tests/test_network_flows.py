"""The fluid link model: max-min fair sharing, bounded buffers, drops, latency and conservation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudtwin.network_flows import Flow, FluidNetwork, Link, max_min_share

G = 1e9


def test_max_min_share_water_fills():
    # 10 units among demands 2, 8, 8: the small one is served whole, the rest split evenly
    assert max_min_share(10.0, [2.0, 8.0, 8.0]) == pytest.approx([2.0, 4.0, 4.0])
    assert max_min_share(10.0, [1.0, 2.0]) == pytest.approx([1.0, 2.0])  # under capacity: all served
    assert max_min_share(9.0, [0.0, 9.0, 9.0]) == pytest.approx([0.0, 4.5, 4.5])


def _net(bps: float = 1 * G, buffer: float = 0.0, latency: float = 0.0, loss: float = 0.0,
         pps: float | None = None) -> tuple[FluidNetwork, Link]:
    net = FluidNetwork(1.0)
    link = net.add_link(Link("l", bps=bps, latency=latency, loss=loss, buffer_bytes=buffer, pps=pps))
    return net, link


def test_saturated_link_serves_its_capacity_and_drops_the_rest():
    net, link = _net(bps=1 * G, buffer=0.0)
    net.add_flow(Flow("a", 1500))
    for t in range(10):
        net.step(float(t), {"a": (2 * G / 8, [(link, 1.0)])})  # 2 Gbps offered to a 1 Gbps link
    a = net.accounting()["a"]
    assert a["delivered"] == pytest.approx(10 * 1 * G / 8)
    assert a["dropped_by_cause"]["queue"] == pytest.approx(10 * 1 * G / 8)
    net.check()


def test_two_flows_share_a_link_fairly():
    net, link = _net(bps=1 * G)
    net.add_flow(Flow("small", 1500))
    net.add_flow(Flow("big", 1500))
    net.step(0.0, {"small": (0.2 * G / 8, [(link, 1.0)]), "big": (5 * G / 8, [(link, 1.0)])})
    acc = net.accounting()
    assert acc["small"]["delivered"] == pytest.approx(0.2 * G / 8)  # under its fair share: served whole
    assert acc["big"]["delivered"] == pytest.approx(0.8 * G / 8)  # the rest of the link


def test_buffer_holds_a_burst_then_drains():
    net, link = _net(bps=1 * G, buffer=0.5 * G / 8)
    net.add_flow(Flow("a", 1500))
    net.step(0.0, {"a": (1.5 * G / 8, [(link, 1.0)])})  # 0.5 Gb over the link: fits the buffer
    assert net.in_flight("a") == pytest.approx(0.5 * G / 8)
    assert link.max_queue_delay == pytest.approx(0.5)
    net.step(1.0, {"a": (0.0, [(link, 1.0)])})
    assert net.accounting()["a"]["delivered"] == pytest.approx(1.5 * G / 8)
    assert net.accounting()["a"]["dropped"] == 0.0


def test_packet_rate_cap_binds_for_small_packets():
    # 140,000 packets/s of 500 B is 560 Mbps, below the 1.25 Gbps bit rate
    net, link = _net(bps=1.25 * G, pps=140_000)
    net.add_flow(Flow("a", 500))
    net.step(0.0, {"a": (1.25 * G / 8, [(link, 1.0)])})
    assert net.accounting()["a"]["delivered"] == pytest.approx(140_000 * 500)


def test_latency_delays_delivery_and_failure_loses_what_is_in_transit():
    net, link = _net(bps=1 * G, latency=2.5)
    net.add_flow(Flow("a", 1500))
    net.step(0.0, {"a": (1e6, [(link, 1.0)])})
    net.step(1.0, {"a": (1e6, [(link, 1.0)])})
    assert net.accounting()["a"]["delivered"] == 0.0  # due at 3.5 s and 4.5 s
    net.step(2.0, {"a": (1e6, [(link, 1.0)])})
    assert net.accounting()["a"]["delivered"] == 0.0  # the step ends at 3 s
    net.step(3.0, {"a": (1e6, [(link, 1.0)])})
    assert net.accounting()["a"]["delivered"] == pytest.approx(1e6)  # the first, due at 3.5 s
    net.fail(link)
    net.step(4.0, {"a": (1e6, [(link, 1.0)])})
    acc = net.accounting()["a"]
    assert acc["dropped_by_cause"]["link_down"] == pytest.approx(4e6)  # 3 in transit + 1 sent to it
    net.check()


def test_no_route_and_loss_are_counted():
    net, link = _net(bps=10 * G, loss=0.01)
    net.add_flow(Flow("a", 1500))
    net.step(0.0, {"a": (1e9, [(link, 1.0)])})
    net.step(1.0, {"a": (1e9, [])})
    acc = net.accounting()["a"]
    assert acc["dropped_by_cause"]["loss"] == pytest.approx(1e7)
    assert acc["dropped_by_cause"]["no_route"] == pytest.approx(1e9)
    net.check()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5e9), st.floats(0, 5e9), st.booleans()), min_size=1, max_size=40),
       st.floats(0, 1e9), st.floats(0, 3.0), st.floats(0, 0.2))
def test_bytes_are_conserved(steps, buffer, latency, loss):
    net = FluidNetwork(1.0)
    l1 = net.add_link(Link("l1", bps=1 * G, latency=latency, loss=loss, buffer_bytes=buffer))
    l2 = net.add_link(Link("l2", bps=2 * G, latency=latency, buffer_bytes=buffer, pps=100_000))
    net.add_flow(Flow("a", 1400))
    net.add_flow(Flow("b", 200))
    for t, (x, y, flip) in enumerate(steps):
        if flip:
            (net.repair if not l1.up else net.fail)(l1)
        net.step(float(t), {"a": (x, [(l1, 1.0), (l2, 1.0)]), "b": (y, [(l2, 1.0)])})
    net.check()
    acc = net.accounting()
    for a in acc.values():
        assert a["sent"] == pytest.approx(a["delivered"] + a["dropped"] + a["in_flight"], rel=1e-9, abs=1e-3)
