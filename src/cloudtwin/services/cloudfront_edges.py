"""CloudFront's edge locations by viewer region: which edge group serves a viewer, the extra
round trips to the viewer and to the origin's Region, price classes and the billing group.

What is modelled
----------------
* Edge groups: the eight regions CloudFront prices by (US: United States, Mexico, Canada;
  EU: Europe, Israel; ZA: South Africa, Kenya, Middle East; SA: South America; JP: Japan;
  AU: Australia, New Zealand; AP: Hong Kong, Philippines, Asia Pacific; IN: India), each
  with its own transfer-out and HTTPS request price (prices.csv, from infracost's
  CloudFront golden test).
* Price classes (the CDK's PriceClass and the DistributionConfig API reference):
  PriceClass_100 uses the US and EU groups; PriceClass_200 adds ZA, JP, AP and IN;
  PriceClass_All every group. A viewer whose group is outside the class is served by
  the in-class group with the lowest round trip from it ("viewers in or near regions
  that are excluded ... may encounter slower performance"), and billed at that group's
  price.
* Round trips between groups (:data:`RTT`, milliseconds) are an **assumption**: rough
  public-internet figures, not measurements. A viewer served in its own group pays
  none; one served elsewhere pays the round trip on every request. A miss pays the
  round trip from the serving group to the group of the origin's Region.
"""

from __future__ import annotations

GROUPS = ("US", "EU", "ZA", "SA", "JP", "AU", "AP", "IN")
PRICE_CLASSES = {
    "PriceClass_100": ("US", "EU"),
    "PriceClass_200": ("US", "EU", "ZA", "JP", "AP", "IN"),
    "PriceClass_All": GROUPS,
}
_PAIRS = {  # round trip in ms between two groups (assumption)
    ("US", "EU"): 80, ("US", "ZA"): 230, ("US", "SA"): 120, ("US", "JP"): 150, ("US", "AU"): 160,
    ("US", "AP"): 180, ("US", "IN"): 220, ("EU", "ZA"): 160, ("EU", "SA"): 200, ("EU", "JP"): 230,
    ("EU", "AU"): 250, ("EU", "AP"): 180, ("EU", "IN"): 130, ("ZA", "SA"): 320, ("ZA", "JP"): 280,
    ("ZA", "AU"): 280, ("ZA", "AP"): 240, ("ZA", "IN"): 200, ("SA", "JP"): 260, ("SA", "AU"): 300,
    ("SA", "AP"): 300, ("SA", "IN"): 320, ("JP", "AU"): 120, ("JP", "AP"): 50, ("JP", "IN"): 130,
    ("AU", "AP"): 100, ("AU", "IN"): 150, ("AP", "IN"): 60,
}


def rtt(a: str, b: str) -> float:
    """Seconds of round trip between edge groups ``a`` and ``b`` (0 within a group)."""
    if a == b:
        return 0.0
    return _PAIRS.get((a, b), _PAIRS.get((b, a), 0)) / 1000.0


def region_group(region: str) -> str:
    """The edge group nearest an AWS Region (where the origin is)."""
    if region.startswith(("us-", "ca-", "mx-")):
        return "US"
    if region.startswith(("eu-", "il-")):
        return "EU"
    if region.startswith(("me-", "af-")):
        return "ZA"
    if region.startswith("sa-"):
        return "SA"
    if region in ("ap-northeast-1", "ap-northeast-3"):
        return "JP"
    if region in ("ap-southeast-2", "ap-southeast-4"):
        return "AU"
    if region.startswith("ap-south-"):
        return "IN"
    return "AP"


def served_by(viewer: str, price_class: str) -> str:
    """The edge group that serves viewers of group ``viewer`` under ``price_class``."""
    allowed = PRICE_CLASSES[price_class]
    if viewer in allowed:
        return viewer
    return min(allowed, key=lambda g: (rtt(viewer, g), allowed.index(g)))


class EdgeMap:
    """For each viewer group of the spec: its share, serving group, and the extra round trips."""

    def __init__(self, viewers: dict[str, float] | None, price_class: str, region: str) -> None:
        self.regional = viewers is not None
        shares = viewers if viewers is not None else {"US": 1.0}
        self.viewers = [g.upper() for g in shares]
        self.cum: list[float] = []
        acc = 0.0
        for v in shares.values():
            acc += v
            self.cum.append(acc)
        self.served = [served_by(v, price_class) for v in self.viewers]
        self.groups = sorted(set(self.served), key=GROUPS.index)  # the groups with edges in use
        self.group_of = [self.groups.index(s) for s in self.served]
        origin = region_group(region)
        # extra seconds: to the viewer, and from the serving group to the origin (none without `viewers`)
        self.viewer_rtt = [rtt(v, s) if self.regional else 0.0 for v, s in zip(self.viewers, self.served,
                                                                                strict=True)]
        self.origin_rtt = [rtt(g, origin) if self.regional else 0.0 for g in self.groups]
        # per viewer group: (serving group's index, viewer rtt, origin rtt), the draw's total and last index
        self.view = [(g, v, self.origin_rtt[g]) for g, v in zip(self.group_of, self.viewer_rtt, strict=True)]
        self.total = self.cum[-1]
        self.last = len(self.cum) - 1
