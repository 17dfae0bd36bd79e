"""Colours and line styles the diagram renderers share (AWS architecture icon colours)."""

from __future__ import annotations

# the catalogue's diagram groups (cloudtwin.catalogue.GROUPS), and the workloads ("client")
NODE_COLOURS = {
    "compute": "#ED7100", "containers": "#ED7100", "networking": "#8C4FFF", "database": "#C925D1",
    "storage": "#7AA116", "integration": "#E7157B", "analytics": "#8C4FFF", "security": "#DD344C",
    "management": "#E7157B", "client": "#232F3E",
}
# group kind -> (border colour, dashed)
GROUP_STYLES = {
    "cloud": ("#232F3E", False), "region": ("#00A4A6", True), "vpc": ("#8C4FFF", False),
    "az": ("#147EBA", True), "asg": ("#ED7100", True),
}


def node_colour(group: str) -> str:
    return NODE_COLOURS.get(group, "#545B64")
