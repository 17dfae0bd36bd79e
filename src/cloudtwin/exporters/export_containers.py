"""ECS to CloudFormation: an ``AWS::ECS::Service`` of a Fargate (or EC2) task definition in one
shared cluster, with its task execution role, a task role that may poll its queue, and the
EventBridge rule target that runs its tasks.

The container image is a Parameter per service (the spec has no image); the task's CPU and memory
are the spec's. The backlog-per-task scaling policy is not exported (it is a metric-math target
tracking policy; named in the notes), nor are the container instances of the EC2 launch type.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.exporters.export_messaging import secs
from cloudtwin.exporters.template import Out, getatt, ref, sub

__all__ = ["ecs", "run_task_target"]

_MIB = 1024**2
_CLUSTER = "EcsCluster"


def _cluster(out: Out) -> str:
    if _CLUSTER not in out.resources:
        out.add(_CLUSTER, "AWS::ECS::Cluster", {"CapacityProviders": ["FARGATE", "FARGATE_SPOT"]})
        out.add("EcsTaskExecutionRole", "AWS::IAM::Role", {
            "AssumeRolePolicyDocument": _trust("ecs-tasks"),
            "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                      "AmazonECSTaskExecutionRolePolicy")]})
    return _CLUSTER


def _trust(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


# Fargate's task sizes: CPU units -> the memory (MiB) each allows [aws-facts §16 Fargate maximum task size;
# the smaller sizes are AWS's Fargate task-size table]
_FARGATE = {256: [512, 1024, 2048], 512: list(range(1024, 4097, 1024)), 1024: list(range(2048, 8193, 1024)),
            2048: list(range(4096, 16385, 1024)), 4096: list(range(8192, 30721, 1024)),
            8192: list(range(16384, 61441, 4096)), 16384: list(range(32768, 122881, 8192))}


def _size(out: Out, name: str, c: Any) -> tuple[int, int]:
    """(CPU units, memory MiB): the spec's, made a Fargate size (the next one up) if needed."""
    cpu = int(round(c.cpu * 1024))
    mem = int(round(c.memory / _MIB))
    if c.launch_type != "fargate":
        return cpu, mem
    fcpu = next((u for u in _FARGATE if u >= cpu), 16384)
    fmem = next((m for m in _FARGATE[fcpu] if m >= mem), _FARGATE[fcpu][-1])
    while fmem < mem and fcpu < 16384:  # more memory than this CPU allows: a bigger task
        fcpu = next(u for u in _FARGATE if u > fcpu)
        fmem = next((m for m in _FARGATE[fcpu] if m >= mem), _FARGATE[fcpu][-1])
    if (fcpu, fmem) != (cpu, mem):
        out.note(name, f"cpu {c.cpu:g} vCPU and memory {c.memory / 1e9:g} GB are written as Fargate's task size "
                       f"{fcpu} CPU units and {fmem} MiB (the next size up)")
    return fcpu, fmem


def task_definition(out: Out, name: str) -> str:
    return out.lid(name) + "TaskDefinition"


def _network(out: Out, c: Any) -> dict[str, Any]:
    return {"Subnets": out.subnets(c.zones), "SecurityGroups": [out.security_group()], "AssignPublicIp": "ENABLED"}


def ecs(out: Out, name: str, c: Any) -> None:
    cluster = _cluster(out)
    image = out.lid(name) + "Image"
    out.parameters[image] = {"Type": "String", "Default": "public.ecr.aws/docker/library/busybox:stable",
                             "Description": f"The container image of {name} (a placeholder by default)"}
    role = None
    if c.consumes is not None:
        q = out.lid(c.consumes.queue)
        role = out.helper(name, "TaskRole", "AWS::IAM::Role", {
            "AssumeRolePolicyDocument": _trust("ecs-tasks"),
            "Policies": [{"PolicyName": "poll-queue", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                              "sqs:GetQueueAttributes"],
                "Resource": getatt(q, "Arn")}]}}]})
    fargate = c.launch_type == "fargate"
    cpu, mem = _size(out, name, c)
    td = out.add(task_definition(out, name), "AWS::ECS::TaskDefinition", {
        "RequiresCompatibilities": ["FARGATE" if fargate else "EC2"], "NetworkMode": "awsvpc",
        "Cpu": str(cpu), "Memory": str(mem),
        "ExecutionRoleArn": getatt("EcsTaskExecutionRole", "Arn"),
        "TaskRoleArn": getatt(role, "Arn") if role else None,
        "ContainerDefinitions": [{"Name": name, "Image": ref(image), "Essential": True,
                                  "StopTimeout": secs(c.stop_timeout)}]})
    props: dict[str, Any] = {
        "Cluster": ref(cluster), "TaskDefinition": ref(td), "DesiredCount": c.desired,
        "NetworkConfiguration": {"AwsvpcConfiguration": _network(out, c)}}
    if c.fargate_spot:
        spot = int(round(c.fargate_spot * 100))
        props["CapacityProviderStrategy"] = [
            {"CapacityProvider": "FARGATE", "Weight": 100 - spot}, {"CapacityProvider": "FARGATE_SPOT", "Weight": spot}]
    else:
        props["LaunchType"] = "FARGATE" if fargate else "EC2"
    out.add(out.lid(name), "AWS::ECS::Service", props)
    if c.scaling is not None:
        out.note(name, f"the backlog-per-task scaling ({c.scaling.min}-{c.scaling.max} tasks, "
                       f"{c.scaling.target_backlog_per_task:g} messages per task) is not exported")
    if not fargate:
        out.note(name, "the EC2 launch type's container instances are not exported")
    if c.max_tasks is not None:
        out.note(name, f"max_tasks {c.max_tasks} is an account quota, not a resource")


def run_task_target(out: Out, rule_id: str, name: str, c: Any) -> dict[str, Any]:
    """An EventBridge rule target that runs one task of service ``name``, with the role that lets
    EventBridge run it."""
    role = rule_id + "RunTaskRole"
    if role not in out.resources:
        out.add(role, "AWS::IAM::Role", {
            "AssumeRolePolicyDocument": _trust("events"),
            "Policies": [{"PolicyName": "run-task", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": ref(task_definition(out, name))},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                 "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]}}]})
    return {"Arn": getatt(_cluster(out), "Arn"), "RoleArn": getatt(role, "Arn"),
            "EcsParameters": {"TaskDefinitionArn": ref(task_definition(out, name)), "TaskCount": 1,
                              "LaunchType": "FARGATE" if c.launch_type == "fargate" else "EC2",
                              "NetworkConfiguration": {"AwsVpcConfiguration": _network(out, c)}}}
