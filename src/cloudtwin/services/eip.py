"""Moving an Elastic IP to another instance: ``AssociateAddress`` with ``AllowReassociation``.

An association moves the address from whatever instance holds it (disassociating it
there) to the new instance; requests to the address then reach the new instance. How
long the move takes to take effect is not documented (aws-facts has no row):
``ASSOCIATE_S`` is an assumption. Until then, requests still reach the old holder.

Who may call it: a Lambda function's ``call: <ec2>.associate_address`` step (its
execution role is assumed to allow it), the user data of an Auto Scaling group's new
instance (only with the group's ``instance_role``, as the call needs credentials on the
instance), or a launch lifecycle hook's action.

Left out: IAM policies themselves, the public IPv4 an instance gets back when its Elastic
IP is taken away, and the API's request throttling.
"""

from __future__ import annotations

from typing import Any, Final

from cloudtwin.services.instance import Instance

ASSOCIATE_S: Final = 2.0  # assumption: AssociateAddress takes effect within a few seconds


def holder(ctx: Any, eip: str) -> Instance | None:
    owner = ctx.addresses.owner.get(eip)
    return owner if isinstance(owner, Instance) else None


def bind(ctx: Any, eip: str, inst: Instance) -> None:
    """Move ``eip`` to ``inst`` now (the previous holder loses it)."""
    prev = holder(ctx, eip)
    if prev is inst:
        return
    if prev is not None:
        prev.public_ip = ""
    inst.public_ip = eip
    ctx.addresses.bind(eip, inst)


def associate(ctx: Any, eip: str, inst: Instance, who: str, then: Any = None) -> None:
    """``AssociateAddress`` by ``who``: ``eip`` moves to ``inst`` after ``ASSOCIATE_S``, then ``then()``."""

    def moved(_: object) -> None:
        if inst.state in ("pending", "running"):
            prev = holder(ctx, eip)
            bind(ctx, eip, inst)
            was = f" from {prev.iid}" if prev is not None and prev is not inst else ""
            ctx.event("address", f"{who}: Elastic IP {eip} associated with {inst.iid}{was}",
                      address=eip, instance=inst.iid)
        if then is not None:
            then()

    ctx.engine.after(ASSOCIATE_S, moved)
