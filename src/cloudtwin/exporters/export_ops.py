"""Operations and platforms: CloudWatch alarms and Elastic Beanstalk environments.

An alarm's metric is the CloudWatch metric its cloudtwin series stands for (the importer's
table, :data:`cloudtwin.importers.map_monitoring.METRICS`, read backwards) with the dimension
of the component it watches; its actions are the topic's or function's ARN, the EC2
``recover``/``reboot`` automate ARNs, or a simple scaling policy of the group.

A Beanstalk environment is an ``AWS::ElasticBeanstalk::Application``, an application version
(its source bundle is a parameter: cloudtwin knows no code) and an ``Environment`` whose option
settings carry what the spec says: the tier, the environment type, the instance type, the group's
size and zones (the scaffold's subnets), the deployment policy and batch, the command timeout.
The platform is a parameter (a solution stack name).
"""

from __future__ import annotations

from typing import Any

from cloudtwin.exporters.template import Out, getatt, ref, sub

__all__ = ["beanstalk", "cloudwatch_alarm"]

_DIMENSION = {"ec2": ("AWS/EC2", "InstanceId"), "asg": ("AWS/EC2", "AutoScalingGroupName"),
              "lambda": ("AWS/Lambda", "FunctionName"), "sqs": ("AWS/SQS", "QueueName"),
              "kinesis": ("AWS/Kinesis", "StreamName"), "dynamodb": ("AWS/DynamoDB", "TableName")}
_POLICY = {"all_at_once": "AllAtOnce", "rolling": "Rolling",
           "rolling_with_additional_batch": "RollingWithAdditionalBatch", "immutable": "Immutable",
           "traffic_splitting": "TrafficSplitting"}


def cloudwatch_alarm(out: Out, name: str, c: Any) -> None:
    from cloudtwin.importers.map_monitoring import METRICS

    kind = out.kind(c.component)
    metric = next((m for m, series in METRICS.items() if series == c.metric), None)
    if kind not in _DIMENSION or metric is None:
        out.skip(name, f"its metric ({c.component}'s {c.metric}) has no CloudWatch metric cloudtwin exports")
        return
    namespace, dim = _DIMENSION[kind]
    src = out.lid(c.component)
    value = getatt(src, "QueueName") if kind == "sqs" else ref(src)
    props: dict[str, Any] = {
        "Namespace": namespace, "MetricName": metric, "Dimensions": [{"Name": dim, "Value": value}],
        "Statistic": c.statistic, "Period": int(c.period), "EvaluationPeriods": c.evaluation_periods,
        "DatapointsToAlarm": c.datapoints_to_alarm, "ComparisonOperator": c.comparison,
        "Threshold": c.threshold, "TreatMissingData": c.treat_missing_data}
    for key, actions in (("AlarmActions", c.alarm_actions), ("OKActions", c.ok_actions)):
        arns = [a for a in (_action(out, name, text) for text in actions) if a is not None]
        if arns:
            props[key] = arns
    out.add(out.lid(name), "AWS::CloudWatch::Alarm", {k: v for k, v in props.items() if v is not None})


def _action(out: Out, name: str, text: str) -> Any:
    from cloudtwin.spec.cloudwatch import parse_action

    kind, target, adjust = parse_action(text)
    if kind == "ec2":
        return sub(f"arn:${{AWS::Partition}}:automate:${{AWS::Region}}:ec2:{target}")
    if kind == "scale":
        return ref(out.helper(name, f"Scale{'Out' if adjust > 0 else 'In'}", "AWS::AutoScaling::ScalingPolicy", {
            "AutoScalingGroupName": ref(out.lid(target)), "AdjustmentType": "ChangeInCapacity",
            "ScalingAdjustment": adjust}))
    if out.kind(target) == "sns":
        return ref(out.lid(target))
    if out.kind(target) == "lambda":
        return getatt(out.lid(target), "Arn")
    out.note(name, f"alarm action {text!r} is not exported")
    return None


def beanstalk(out: Out, name: str, c: Any) -> None:
    app = out.helper(name, "Application", "AWS::ElasticBeanstalk::Application", {"Description": f"{name} (cloudtwin)"})
    bundle = out.parameter("SourceBundleBucket", "String", "the S3 bucket of the application's source bundle")
    key = out.parameter("SourceBundleKey", "String", "the S3 key of the application's source bundle")
    version = out.helper(name, "Version", "AWS::ElasticBeanstalk::ApplicationVersion", {
        "ApplicationName": ref(app), "Description": c.version,
        "SourceBundle": {"S3Bucket": ref(bundle), "S3Key": ref(key)}})
    stack = out.parameter("SolutionStackName", "String", "the Elastic Beanstalk platform (a solution stack name)")
    zones = list(c.zones or out.arch.zones)
    single = c.environment_type == "single_instance"
    opts = [("aws:autoscaling:launchconfiguration", "InstanceType", c.instance_type),
            ("aws:elasticbeanstalk:environment", "EnvironmentType", "SingleInstance" if single else "LoadBalanced"),
            ("aws:ec2:vpc", "VPCId", out.vpc()),
            ("aws:ec2:vpc", "Subnets", {"Fn::Join": [",", out.subnets(zones[:1] if single else zones)]}),
            ("aws:elasticbeanstalk:command", "DeploymentPolicy", _POLICY.get(c.deployment_policy, "AllAtOnce")),
            ("aws:elasticbeanstalk:command", "Timeout", str(int(c.command_timeout)))]
    if not single:
        opts += [("aws:autoscaling:asg", "MinSize", str(c.capacity.min)),
                 ("aws:autoscaling:asg", "MaxSize", str(c.capacity.max)),
                 ("aws:elasticbeanstalk:command", "BatchSizeType", c.batch_size_type.capitalize()),
                 ("aws:elasticbeanstalk:command", "BatchSize", str(c.batch_size))]
        if c.tier == "web":
            opts.append(("aws:elasticbeanstalk:environment", "LoadBalancerType", "application"))
    if c.deployment_policy == "traffic_splitting":
        opts += [("aws:elasticbeanstalk:trafficsplitting", "NewVersionPercent",
                  str(c.traffic_split.new_version_percent)),
                 ("aws:elasticbeanstalk:trafficsplitting", "EvaluationTime",
                  str(int(c.traffic_split.evaluation_time // 60)))]
    out.add(out.lid(name), "AWS::ElasticBeanstalk::Environment", {
        "ApplicationName": ref(app), "VersionLabel": ref(version), "SolutionStackName": ref(stack),
        "Tier": ({"Name": "WebServer", "Type": "Standard"} if c.tier == "web"
                 else {"Name": "Worker", "Type": "SQS/HTTP"}),
        "OptionSettings": [{"Namespace": ns, "OptionName": o, "Value": v} for ns, o, v in opts]})
    if c.deployments:
        out.note(name, f"{len(c.deployments)} deployment(s) of the scenario are events of the run, not resources")
    if c.deployment_policy == "blue_green":
        out.note(name, "blue/green is a second environment and a CNAME swap, done by the user: not exported")
