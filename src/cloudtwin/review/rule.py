"""The rule base: a rule is mostly data, plus one ``check(ctx)``.

Each rule module in :mod:`cloudtwin.review.rules` defines one subclass of
:class:`Rule`. Its ``id`` (``CT-<PILLAR>-NNN``) is stable; ``best_practices``
cite the AWS Well-Architected Framework (version :data:`FRAMEWORK`) by id, and
its ``severity`` is the framework's "level of risk exposed if this best practice
is not established" for the riskiest practice it cites (a test holds the two
together through :data:`BEST_PRACTICES`).

A rule may also be *dynamic*: with ``--simulate`` its ``check`` reads the
measured scenarios (``ctx.measured``) and lets the measurement decide, and
``clean(ctx)`` says what the simulation showed when the rule holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from cloudtwin.review.finding import Evidence, Finding

if TYPE_CHECKING:
    from cloudtwin.review.context import Context
    from cloudtwin.spec.loader import Path

FRAMEWORK = "2024-06-27"
FRAMEWORK_URL = f"https://docs.aws.amazon.com/wellarchitected/{FRAMEWORK}/framework/"

PILLARS = ("operational_excellence", "security", "reliability", "performance_efficiency",
           "cost_optimization", "sustainability")
SEVERITIES = ("low", "medium", "high")
PREFIX_PILLAR = {"OPS": "operational_excellence", "SEC": "security", "REL": "reliability",
                 "PERF": "performance_efficiency", "COST": "cost_optimization", "SUS": "sustainability"}

# Every best practice a rule cites: (title, risk level, page). Titles and risk levels were checked
# against the framework text (docs.aws.amazon.com/wellarchitected); see docs/rules.md.
BEST_PRACTICES: dict[str, tuple[str, str, str]] = {
    "OPS06-BP03": ("Employ safe deployment strategies", "medium", "ops_mit_deploy_risks_deploy_mgmt_sys"),
    "SEC05-BP01": ("Create network layers", "high", "sec_network_protection_create_layers"),
    "SEC08-BP02": ("Enforce encryption at rest", "high", "sec_protect_data_rest_encrypt"),
    "SEC09-BP02": ("Enforce encryption in transit", "high", "sec_protect_data_transit_encrypt"),
    "REL01-BP01": ("Aware of service quotas and constraints", "high",
                   "rel_manage_service_limits_aware_quotas_and_constraints"),
    "REL02-BP01": ("Use highly available network connectivity for your workload public endpoints", "high",
                   "rel_planning_network_topology_ha_conn_users"),
    "REL02-BP02": ("Provision redundant connectivity between private networks in the cloud and on-premises "
                   "environments", "high", "rel_planning_network_topology_ha_conn_private_networks"),
    "REL05-BP02": ("Throttle requests", "high", "rel_mitigate_interaction_failure_throttle_requests"),
    "REL05-BP03": ("Control and limit retry calls", "high", "rel_mitigate_interaction_failure_limit_retries"),
    "REL05-BP04": ("Fail fast and limit queues", "high", "rel_mitigate_interaction_failure_fail_fast"),
    "REL05-BP05": ("Set client timeouts", "high", "rel_mitigate_interaction_failure_client_timeouts"),
    "REL05-BP06": ("Make systems stateless where possible", "medium", "rel_mitigate_interaction_failure_stateless"),
    "REL07-BP01": ("Use automation when obtaining or scaling resources", "high",
                   "rel_adapt_to_changes_autoscale_adapt"),
    "REL09-BP01": ("Identify and back up all data that needs to be backed up, or reproduce the data from "
                   "sources", "high", "rel_backing_up_data_identified_backups_data"),
    "REL09-BP03": ("Perform data backup automatically", "medium", "rel_backing_up_data_automated_backups_data"),
    "REL10-BP01": ("Deploy the workload to multiple locations", "high", "rel_fault_isolation_multiaz_region_system"),
    "REL11-BP01": ("Monitor all components of the workload to detect failures", "high",
                   "rel_withstand_component_failures_monitoring_health"),
    "REL11-BP02": ("Fail over to healthy resources", "high", "rel_withstand_component_failures_failover2good"),
    "REL11-BP03": ("Automate healing on all layers", "high", "rel_withstand_component_failures_auto_healing_system"),
    "REL11-BP05": ("Use static stability to prevent bimodal behavior", "medium",
                   "rel_withstand_component_failures_static_stability"),
    "PERF02-BP04": ("Configure and right-size compute resources", "medium",
                    "perf_compute_hardware_configure_and_right_size_compute_resources"),
    "PERF02-BP05": ("Scale your compute resources dynamically", "high",
                    "perf_compute_hardware_scale_compute_resources_dynamically"),
    "PERF03-BP02": ("Evaluate available configuration options for data store", "medium",
                    "perf_data_evaluate_configuration_options_data_store"),
    "PERF03-BP04": ("Implement strategies to improve query performance in data store", "medium",
                    "perf_data_implement_strategies_to_improve_query_performance"),
    "PERF03-BP05": ("Implement data access patterns that utilize caching", "medium",
                    "perf_data_access_patterns_caching"),
    "PERF04-BP04": ("Use load balancing to distribute traffic across multiple resources", "high",
                    "perf_networking_load_balancing_distribute_traffic"),
    "COST06-BP02": ("Select resource type, size, and number based on data", "medium",
                    "cost_type_size_number_resources_data"),
    "COST07-BP01": ("Perform pricing model analysis", "high", "cost_pricing_model_analysis"),
    "SUS02-BP01": ("Scale workload infrastructure dynamically", "medium", "sus_sus_user_a2"),
    "SUS05-BP03": ("Use managed services", "medium", "sus_sus_hardware_a4"),
}


def bp_pillar(bp: str) -> str:
    return PREFIX_PILLAR[bp.split("-", 1)[0].rstrip("0123456789")]


def bp_url(bp: str) -> str:
    return f"{FRAMEWORK_URL}{BEST_PRACTICES[bp][2]}.html"


class Rule(ABC):
    """One review rule. Subclasses set the class attributes and implement :meth:`check`."""

    id: ClassVar[str]
    title: ClassVar[str]
    pillar: ClassVar[str]
    best_practices: ClassVar[tuple[str, ...]]
    severity: ClassVar[str]
    description: ClassVar[str]  # what it checks, one or two sentences
    framework: ClassVar[str] = FRAMEWORK
    dynamic: ClassVar[bool] = False  # reads measured scenarios when the review simulates

    @abstractmethod
    def check(self, ctx: Context) -> list[Finding]:
        """The findings of this rule on ``ctx`` (empty when the design passes)."""

    def clean(self, ctx: Context) -> str | None:
        """With simulation: what the measurement showed when the rule found nothing."""
        return None

    @property
    def pillars(self) -> tuple[str, ...]:
        """The primary pillar, then the pillars of the other practices cited."""
        out = [self.pillar]
        for bp in self.best_practices:
            p = bp_pillar(bp)
            if p not in out:
                out.append(p)
        return tuple(out)

    @property
    def help_uri(self) -> str:
        return bp_url(self.best_practices[0])

    def finding(self, ctx: Context, path: Path, message: str, fix: str, *, component: str | None = None,
                evidence: Sequence[Evidence] = ()) -> Finding:
        loc = ctx.where(path)
        return Finding(rule_id=self.id, title=self.title, pillar=self.pillar, severity=self.severity,
                       best_practices=self.best_practices, message=message, fix=fix, path=loc.path,
                       file=loc.file, line=loc.line, component=component, evidence=list(evidence))
