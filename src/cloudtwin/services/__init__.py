"""Live service models, one AWS service per module, registered by spec ``type``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudtwin.component import Component

REGISTRY: dict[str, type[Component]] = {}


def register(*kinds: str):  # type: ignore[no-untyped-def]
    """Class decorator: build components of these spec types with this class."""

    def deco(cls: type[Component]) -> type[Component]:
        for k in kinds:
            REGISTRY[k] = cls
        return cls

    return deco


# Which module serves each spec type, so a run imports only the services it uses.
MODULES = {
    "ec2": "ec2", "asg": "asg", "alb": "elb", "nlb": "elb", "clb": "elb", "route53": "route53",
    "elasticache": "elasticache", "rds": "rds", "aurora": "rds", "efs": "efs", "ebs": "ebs",
    "apigateway": "apigateway", "kinesis": "kinesis",
    "eventbridge": "eventbridge", "ecs": "ecs", "cloudtrail": "cloudtrail", "s3": "s3",
    "cognito": "cognito", "dynamodb": "dynamodb", "dax": "dax", "firehose": "firehose", "athena": "athena",
    "redshift": "redshift", "quicksight": "quicksight", "cloudfront": "cloudfront", "ses": "ses",
}


def load(kinds: set[str]) -> dict[str, type[Component]]:
    """Import the modules serving ``kinds`` (every module if one is not in MODULES)."""
    import importlib

    if any(k not in MODULES for k in kinds):
        return load_all()
    for k in sorted(kinds):
        if k not in REGISTRY:
            importlib.import_module(f"{__name__}.{MODULES[k]}")
    return REGISTRY


def load_all() -> dict[str, type[Component]]:
    """Import every service module so each registers itself."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    return REGISTRY
