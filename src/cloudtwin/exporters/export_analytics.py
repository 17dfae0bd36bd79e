"""DAX clusters and Redshift clusters to CloudFormation, each in a subnet group over the spec's
zones, with the role that lets it read what it serves (a DAX cluster its DynamoDB table, a
Redshift cluster the bucket it COPYs from)."""

from __future__ import annotations

from typing import Any

from cloudtwin.exporters.template import Out, getatt, ref, sub

__all__ = ["dax", "redshift"]


def _role(out: Out, name: str, service: str, actions: list[str], resources: list[Any]) -> str:
    return out.helper(name, "Role", "AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "data-access", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": actions, "Resource": resources}]}}]})


def dax(out: Out, name: str, c: Any) -> None:
    table = out.lid(c.table)
    role = _role(out, name, "dax", ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
                                    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                    "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"],
                 [getatt(table, "Arn")])
    subnets = out.helper(name, "SubnetGroup", "AWS::DAX::SubnetGroup", {
        "Description": f"{name}: the spec's zones", "SubnetIds": out.subnets(c.zones)})
    params = out.helper(name, "ParameterGroup", "AWS::DAX::ParameterGroup", {
        "Description": f"{name}: item and query cache TTLs",
        "ParameterNameValues": {"record-ttl-millis": str(int(c.item_ttl * 1000)),
                                "query-ttl-millis": str(int(c.query_ttl * 1000))}})
    zones = c.zones or out.arch.zones
    out.add(out.lid(name), "AWS::DAX::Cluster", {
        "NodeType": c.node_type, "ReplicationFactor": c.nodes, "IAMRoleARN": getatt(role, "Arn"),
        "SubnetGroupName": ref(subnets), "ParameterGroupName": ref(params),
        "SecurityGroupIds": [out.security_group()],
        "AvailabilityZones": [out.az(zones[i % len(zones)]) for i in range(c.nodes)],
        "SSESpecification": {"SSEEnabled": True}})


def redshift(out: Out, name: str, c: Any) -> None:
    role = None
    if c.load_bucket:
        bucket = out.lid(c.load_bucket)
        role = _role(out, name, "redshift", ["s3:GetObject", "s3:ListBucket"],
                     [getatt(bucket, "Arn"), sub(f"${{{bucket}.Arn}}/*")])
    subnets = out.helper(name, "SubnetGroup", "AWS::Redshift::ClusterSubnetGroup", {
        "Description": f"{name}: the spec's zones", "SubnetIds": out.subnets(None)})
    out.add(out.lid(name), "AWS::Redshift::Cluster", {
        "ClusterType": "multi-node" if c.nodes > 1 else "single-node", "NodeType": c.node_type,
        "NumberOfNodes": c.nodes if c.nodes > 1 else None, "DBName": "dev",
        "MasterUsername": out.db_user(), "ManageMasterPassword": True, "Encrypted": True,
        "ClusterSubnetGroupName": ref(subnets), "VpcSecurityGroupIds": [out.security_group()],
        "IamRoles": [getatt(role, "Arn")] if role else None},
        DeletionPolicy="Snapshot", UpdateReplacePolicy="Snapshot")
    out.note(name, f"the WLM concurrency ({c.concurrency} slots) and the COPY schedule are not exported")
