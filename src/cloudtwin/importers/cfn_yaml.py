"""Loading a CloudFormation template safely, with its line numbers.

The YAML (or JSON: a JSON document is YAML once its tabs are spaces, and JSON has no raw tabs
inside strings) is composed with PyYAML's safe loader and converted by the spec loader's
converter (:func:`cloudtwin.spec.loader.load_yaml`: duplicate keys, merge keys, alias bombs and
object tags refused, every path's line kept). The short-form tags ``!Ref``, ``!GetAtt``,
``!Sub`` ... become the long forms ``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``: plain data,
nothing is constructed or run. cfn-lint's decoder (``cfnlint.decode``) does the same, but
importing it loads all of cfn-lint (its rules and schemas, over a second), it accepts merge keys
and bounds no alias expansion; this loader reuses the hardened one the specs already go through.
"""

from __future__ import annotations

from typing import Any

import yaml

from cloudtwin import limits
from cloudtwin.spec.loader import Located, _Converter, load_yaml

__all__ = ["load_template", "parse_template"]

Path = tuple[str | int, ...]

# the short-form tags and the long form each stands for
_SHORT = {"Ref": "Ref", "Condition": "Condition"} | {
    f: f"Fn::{f}" for f in ("Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select",
                            "Split", "Sub", "Transform", "If", "Equals", "Not", "And", "Or", "Length",
                            "ToJsonString")}
_T = "tag:yaml.org,2002:"


class _CfnConverter(_Converter):
    """The spec loader's converter, with CloudFormation's short-form tags turned into long forms."""

    def convert(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        tag = node.tag or ""
        if not tag.startswith("!"):
            return super().convert(node, path, depth)
        line = node.start_mark.line + 1
        self.lines.setdefault(path, line)
        short = tag[1:]
        if short not in _SHORT:
            self.add(path, line, f"unknown tag {tag}; CloudFormation's short forms are "
                     f"{', '.join('!' + s for s in _SHORT)}")
            return None
        key = _SHORT[short]
        inner_path = (*path, key)
        if isinstance(node, yaml.ScalarNode):
            self.lines.setdefault(inner_path, line)
            value: Any = str(node.value)
            if short == "GetAtt":
                value = value.split(".", 1)
            return {key: value}
        plain: yaml.Node
        if isinstance(node, yaml.SequenceNode):
            plain = yaml.SequenceNode(f"{_T}seq", node.value, node.start_mark, node.end_mark)
        else:
            plain = yaml.MappingNode(f"{_T}map", node.value, node.start_mark, node.end_mark)
        return {key: self.convert(plain, inner_path, depth + 1)}


def parse_template(text: str, file: str = "<template>") -> Located:
    """Parse a template's text (YAML or JSON). :class:`SpecError` with file:line on any problem."""
    if text.lstrip().startswith("{"):
        text = text.replace("\t", " ")  # JSON: tabs only between tokens, which YAML's flow style wants as spaces
    return load_yaml(text, file, converter=_CfnConverter, what="template", syntax="YAML or JSON")


def load_template(path: str) -> Located:
    """Read and parse the template file ``path`` (a regular file of at most 1 MiB)."""
    from cloudtwin.fileio import read_text_bounded

    return parse_template(read_text_bounded(path, limits.MAX_SPEC_BYTES, "template"), path)
