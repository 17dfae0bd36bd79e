"""Checks of a spec's ``flows:`` (the model, ``NetworkFlow``, sits in :mod:`cloudtwin.spec.schema`
beside the workloads): network flows in bits per second between an on-premises site and AWS,
over Direct Connect connections and Site-to-Site VPNs (the fluid model of
:mod:`cloudtwin.network_flows`, driven by :mod:`cloudtwin.flow_run`).
"""

from __future__ import annotations

from typing import Any

from cloudtwin.spec.loader import Path

ATTACHMENTS = ("directconnect", "vpn")


def check(arch: Any) -> list[tuple[Path, str]]:
    """Each flow's `via:` names Direct Connect or VPN components, once each."""
    from cloudtwin.spec.base import expect

    out: list[tuple[Path, str]] = []
    for n, f in arch.flows.items():
        for i, v in enumerate(f.via):
            expect(out, arch.components, ("flows", n, "via", i), v, ATTACHMENTS, "path")
        if len(set(f.via)) != len(f.via):
            out.append((("flows", n, "via"), "each path may be named once"))
    return out
