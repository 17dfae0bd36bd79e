"""AWS SAM templates: expanded to CloudFormation by AWS's own translator, with the lines kept.

A template whose ``Transform`` is (or lists) ``AWS::Serverless-2016-10-31`` goes through
``aws-sam-translator`` (the ``templates`` extra), which turns each ``AWS::Serverless::*``
resource into the CloudFormation resources SAM deploys (a function into its function, role,
permissions and event source mappings; an API into its RestApi, deployment and stage...). The
translator runs offline: the Region is the template's (``--param AWS::Region=...``), and managed
policy names are not looked up (cloudtwin simulates no IAM).

The expanded template has no line numbers of its own, so each resource takes the line of the
SAM resource it came from (the one whose logical id it extends: ``GetItemRole`` from
``GetItem``); resources that were plain CloudFormation keep all of theirs.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from cloudtwin.errors import Issue, SpecError
from cloudtwin.spec.loader import Located, Path

__all__ = ["SAM_TRANSFORM", "expand", "is_sam"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def is_sam(located: Located) -> bool:
    data = located.data
    t = data.get("Transform") if isinstance(data, dict) else None
    return t == SAM_TRANSFORM or (isinstance(t, list) and SAM_TRANSFORM in t)


def expand(located: Located, params: dict[str, str], region: str) -> Located:
    """The CloudFormation template SAM makes of ``located`` (which :func:`is_sam`)."""
    data = located.data
    others = [t for t in (data["Transform"] if isinstance(data["Transform"], list) else [data["Transform"]])
              if t != SAM_TRANSFORM]
    if others:
        raise _error(located, ("Transform",), f"transform {others[0]!r} is not supported (only {SAM_TRANSFORM}): "
                                              "expand it first, e.g. with `aws cloudformation package`")
    try:
        import boto3
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
    except ImportError:
        raise _error(located, ("Transform",), f"a SAM template ({SAM_TRANSFORM}) is expanded by aws-sam-translator: "
                                              "pip install 'cloudtwin[templates]'") from None
    values = {k: v for k, v in params.items() if not k.startswith("AWS::")}
    values.update({"AWS::Region": region, "AWS::Partition": "aws"})
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        out = translator.translate(copy.deepcopy(data), parameter_values=values,
                                   get_managed_policy_map=lambda: {})
    except Exception as e:  # noqa: BLE001 - the translator's errors (and its bugs on odd input) are the template's
        raise SpecError(_issues(located, e)) from None
    return Located(out, _lines(located, out), located.file)


def _error(located: Located, path: Path, message: str) -> SpecError:
    return SpecError([located.issue(path, message)])


def _issues(located: Located, e: Exception) -> list[Issue]:
    """One issue per cause SAM gives, at the line of the resource it names."""
    causes = getattr(e, "causes", None) or [e]
    out = []
    for c in causes:
        text = " ".join(str(getattr(c, "message", None) or c).split())
        m = re.search(r"\[([A-Za-z0-9]+)\]", text)
        res = located.data.get("Resources") or {}
        path: Path = ("Resources", m.group(1)) if m and m.group(1) in res else ("Transform",)
        out.append(located.issue(path, f"the SAM transform refused the template: {text}"))
    return out


def _lines(located: Located, out: dict[str, Any]) -> dict[Path, int]:
    src: dict[str, Any] = located.data.get("Resources") or {}
    lines = {p: n for p, n in located.lines.items() if not (len(p) > 1 and p[0] == "Resources")}
    by_length = sorted(src, key=len, reverse=True)
    for rid in out.get("Resources") or {}:
        if rid in src and not str(src[rid].get("Type", "")).startswith("AWS::Serverless::"):
            lines.update({p: n for p, n in located.lines.items() if p[:2] == ("Resources", rid)})
            continue
        origin = rid if rid in src else next((s for s in by_length if rid.startswith(s)), None)
        lines[("Resources", rid)] = located.line_of(("Resources", origin) if origin else ("Transform",))
    return lines
