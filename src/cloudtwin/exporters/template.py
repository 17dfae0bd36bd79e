"""The template being built: resources, parameters, the network scaffold and what is left out.

:class:`Out` is what the per-family exporters (:mod:`.export_compute`, :mod:`.export_data`,
:mod:`.export_messaging`, :mod:`.export_edge`) write into. Intrinsics are written in their long
form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``) so that the template is plain YAML or JSON.

A component's resource is named by :func:`logical_id` so that the importer's
``kebab(logical)`` gives back the component's name (``web-lb`` -> ``WebLb``); the resources a
component needs besides (a listener, a role, a launch template) are named after it
(``WebLbListener``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cloudtwin.spec.schema import Architecture

__all__ = ["AMI_PATH", "ARM_AMI_PATH", "Out", "getatt", "logical_id", "ref", "sub"]

# The public SSM parameters of the latest Amazon Linux 2023 AMI (x86_64 and arm64)
AMI_PATH = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
ARM_AMI_PATH = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"


def logical_id(name: str) -> str:
    """``web-lb`` -> ``WebLb``; ``orders_dlq`` -> ``OrdersDlq`` (a logical id is alphanumeric)."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[-_]+", name) if p)


def ref(logical: str) -> dict[str, Any]:
    return {"Ref": logical}


def getatt(logical: str, attr: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, attr]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _graviton(instance_type: str) -> bool:
    """An arm64 (Graviton) type: ``m6g.large``, ``t4g.micro``, ``c7gn.xlarge``..."""
    return re.fullmatch(r"[a-z]+\d+g[a-z]*\..+", instance_type) is not None


@dataclass
class Out:
    arch: Architecture
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_exported: list[dict[str, str]] = field(default_factory=list)  # component, type, why
    notes: list[str] = field(default_factory=list)  # settings a template cannot say
    _reserved: set[str] = field(default_factory=set)
    _scaffolded: bool = False

    def __post_init__(self) -> None:
        self._reserved = {logical_id(n) for n in self.arch.components}

    # -------------------------------------------------------- names and resources
    def lid(self, name: str) -> str:
        """The logical id of component ``name``'s own resource."""
        return logical_id(name)

    def add(self, logical: str, type_: str, props: dict[str, Any], **extra: Any) -> str:
        """Add resource ``logical`` (None-valued properties are left out). Returns its id."""
        if logical in self.resources:
            raise ValueError(f"two resources would be named {logical}: rename the component whose "
                             f"logical id is {logical}")
        body: dict[str, Any] = {"Type": type_, **extra}
        body["Properties"] = {k: v for k, v in props.items() if v is not None}
        self.resources[logical] = body
        return logical

    def helper(self, name: str, suffix: str, type_: str, props: dict[str, Any], **extra: Any) -> str:
        """A resource component ``name`` needs besides its own (``WebLbListener``)."""
        base = self.lid(name) + suffix
        got, i = base, 2
        while got in self.resources or got in self._reserved:
            got, i = f"{base}{i}", i + 1
        return self.add(got, type_, props, **extra)

    def skip(self, name: str, why: str) -> None:
        self.not_exported.append({"component": name, "type": self.arch.components[name].type, "why": why})

    def note(self, name: str, text: str) -> None:
        self.notes.append(f"{name}: {text}")

    def comps(self) -> list[tuple[str, Any]]:
        """The spec's components, (name, spec model), in order."""
        return list(self.arch.components.items())

    def comp(self, name: str) -> Any:
        return self.arch.components[name]

    def kind(self, name: str | None) -> str:
        c = self.arch.components.get(name or "")
        return str(c.type) if c is not None else ""

    # -------------------------------------------------------- parameters
    def ami(self, instance_type: str) -> dict[str, Any]:
        arm = _graviton(instance_type)
        name = "LatestArmAmiId" if arm else "LatestAmiId"
        self.parameters.setdefault(name, {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": ARM_AMI_PATH if arm else AMI_PATH,
            "Description": f"The AMI of the instances ({'arm64' if arm else 'x86_64'}): the latest Amazon Linux "
                           "2023 from its public SSM parameter"})
        return ref(name)

    def db_user(self) -> dict[str, Any]:
        self.parameters.setdefault("DbMasterUsername", {
            "Type": "String", "Default": "dbadmin", "MinLength": 1, "MaxLength": 16,
            "AllowedPattern": "[a-zA-Z][a-zA-Z0-9]*",
            "Description": "The master user of the databases (RDS keeps its password in Secrets Manager)"})
        return ref("DbMasterUsername")

    def certificate(self) -> dict[str, Any]:
        self.parameters.setdefault("CertificateArn", {
            "Type": "String", "AllowedPattern": "arn:aws[a-z-]*:acm:.+",
            "Description": "The ACM certificate of the HTTPS/TLS listeners"})
        return ref("CertificateArn")

    def parameter(self, name: str, type_: str, description: str) -> str:
        """A plain parameter the user supplies (no default): its name, for ``ref``."""
        self.parameters.setdefault(name, {"Type": type_, "Description": description})
        return name

    # -------------------------------------------------------- network scaffold
    def zone_index(self, zone: str) -> int:
        return ord(zone) - ord("a")

    def az(self, zone: str) -> dict[str, Any]:
        return {"Fn::Select": [self.zone_index(zone), {"Fn::GetAZs": ""}]}

    def vpc(self) -> dict[str, Any]:
        if not self._scaffolded:
            self._scaffolded = True
            self._scaffold()
        return ref("Vpc")

    def subnet(self, zone: str) -> dict[str, Any]:
        """The public subnet of spec zone ``zone`` (one per zone of the spec)."""
        self.vpc()
        logical = f"PublicSubnet{zone.upper()}"
        if logical not in self.resources:  # a component's zone outside the spec's zones
            self._subnet(zone)
        return ref(logical)

    def subnets(self, zones: list[str] | None) -> list[dict[str, Any]]:
        return [self.subnet(z) for z in (zones or self.arch.zones)]

    def security_group(self) -> dict[str, Any]:
        """One security group for the load balancers, instances, databases and caches: HTTP and
        HTTPS from anywhere, everything from inside the VPC."""
        if "WebSecurityGroup" not in self.resources:
            self.add("WebSecurityGroup", "AWS::EC2::SecurityGroup", {
                "GroupDescription": f"{self.arch.name}: HTTP/HTTPS in, all traffic within the VPC",
                "VpcId": self.vpc(),
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"},
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                    {"IpProtocol": "-1", "CidrIp": "10.0.0.0/16"}]})
        return ref("WebSecurityGroup")

    def _scaffold(self) -> None:
        self.add("Vpc", "AWS::EC2::VPC", {"CidrBlock": "10.0.0.0/16", "EnableDnsSupport": True,
                                          "EnableDnsHostnames": True})
        self.add("InternetGateway", "AWS::EC2::InternetGateway", {})
        self.add("VpcGatewayAttachment", "AWS::EC2::VPCGatewayAttachment",
                 {"VpcId": ref("Vpc"), "InternetGatewayId": ref("InternetGateway")})
        self.add("PublicRouteTable", "AWS::EC2::RouteTable", {"VpcId": ref("Vpc")})
        self.add("PublicRoute", "AWS::EC2::Route", {"RouteTableId": ref("PublicRouteTable"),
                                                    "DestinationCidrBlock": "0.0.0.0/0",
                                                    "GatewayId": ref("InternetGateway")},
                 DependsOn="VpcGatewayAttachment")
        for z in self.arch.zones:
            self._subnet(z)

    def _subnet(self, zone: str) -> None:
        logical = f"PublicSubnet{zone.upper()}"
        self.add(logical, "AWS::EC2::Subnet", {
            "VpcId": ref("Vpc"), "AvailabilityZone": self.az(zone),
            "CidrBlock": f"10.0.{self.zone_index(zone)}.0/24", "MapPublicIpOnLaunch": True})
        self.add(f"{logical}RouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation",
                 {"SubnetId": ref(logical), "RouteTableId": ref("PublicRouteTable")})
