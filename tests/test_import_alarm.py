"""`cloudtwin import` of AWS::CloudWatch::Alarm: metric, evaluation settings and actions map to a
`cloudwatch_alarm`; an alarm cloudtwin cannot simulate is listed as unmapped, never guessed."""

from __future__ import annotations

from pathlib import Path

import yaml

from cloudtwin.importers.convert import import_template
from cloudtwin.simulation import Simulation
from cloudtwin.spec import parse_spec

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties: {InstanceType: m5.large, ImageId: ami-12345678}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties: {MinSize: "1", MaxSize: "4", AvailabilityZones: [us-east-1a, us-east-1b]}
  Up:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties: {AutoScalingGroupName: !Ref Group, AdjustmentType: ChangeInCapacity, ScalingAdjustment: 2}
  Alerts:
    Type: AWS::SNS::Topic
  Recover:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: StatusCheckFailed_System
      Namespace: AWS/EC2
      Dimensions: [{Name: InstanceId, Value: !Ref Web}]
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 2
      ComparisonOperator: GreaterThanOrEqualToThreshold
      Threshold: 1
      AlarmActions: [!Sub "arn:aws:automate:${AWS::Region}:ec2:recover", !Ref Alerts]
  Busy:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: CPUUtilization
      Namespace: AWS/EC2
      Dimensions: [{Name: AutoScalingGroupName, Value: !Ref Group}]
      Statistic: Average
      Period: 300
      EvaluationPeriods: 3
      DatapointsToAlarm: 2
      ComparisonOperator: GreaterThanThreshold
      Threshold: 0.7
      TreatMissingData: notBreaching
      AlarmActions: [!Ref Up]
  Fancy:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: DiskReadOps
      Namespace: AWS/EC2
      Dimensions: [{Name: InstanceId, Value: !Ref Web}]
      Statistic: Average
      Period: 60
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      Threshold: 10
"""


def test_alarms_map_with_their_rules_and_actions(tmp_path: Path) -> None:
    path = tmp_path / "alarms.yaml"
    path.write_text(TEMPLATE)
    got = import_template(str(path))
    spec = yaml.safe_load(got.text)
    comps = spec["components"]
    assert comps["recover"] == {
        "type": "cloudwatch_alarm", "component": "web", "metric": "StatusCheckFailed_System",
        "statistic": "Maximum", "period": "60s", "comparison": "GreaterThanOrEqualToThreshold",
        "threshold": 1.0, "evaluation_periods": 2, "alarm_actions": ["ec2:recover", "alerts"]}
    busy = comps["busy"]
    assert (busy["component"], busy["metric"], busy["period"]) == ("group", "utilization", "300s")
    assert (busy["evaluation_periods"], busy["datapoints_to_alarm"]) == (3, 2)
    assert busy["treat_missing_data"] == "notBreaching" and busy["alarm_actions"] == ["group:+2"]
    assert "fancy" not in comps
    left = {n: why for n, _, _, why in got.unmapped}
    assert "Fancy" in left and "not one cloudtwin simulates" in left["Fancy"]
    arch = parse_spec(got.text)  # the spec validates and runs
    assert Simulation(arch, duration=120.0).run().component("recover")["state"] == "OK"
