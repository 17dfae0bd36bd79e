"""API Gateway to CloudFormation: a REST API (``AWS::ApiGateway::RestApi`` with a root and a
``{proxy+}`` method, a deployment and a stage with its throttle and cache) or an HTTP API
(``AWS::ApiGatewayV2::Api`` with a ``$default`` route and an auto-deployed stage), integrated
with a Lambda function (proxy) or a load balancer or instance (HTTP proxy); and the Cognito user
pools that sign its users in."""

from __future__ import annotations

from typing import Any

from cloudtwin.exporters.template import Out, getatt, ref, sub

__all__ = ["apigateway", "cognito"]

_LAMBDA_URI = ("arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/"
               "${{{fn}.Arn}}/invocations")


def _http_uri(out: Out, target: str) -> dict[str, Any] | None:
    kind = out.kind(target)
    if kind in ("alb", "nlb", "clb"):
        return sub(f"http://${{{out.lid(target)}.DNSName}}/{{proxy}}")
    if kind == "ec2":
        return sub(f"http://${{{out.lid(target)}.PublicDnsName}}/{{proxy}}")
    return None


def apigateway(out: Out, name: str, c: Any) -> None:
    target = c.integration.target
    kind = out.kind(target)
    if kind == "lambda":
        if c.integration.op == "invoke_async":
            out.note(name, "the asynchronous Lambda invocation is exported as a proxy (synchronous) integration")
    elif kind == "asg":
        out.skip(name, f"its integration target {target} is an Auto Scaling group, which has no address of its own "
                       "(an HTTP integration needs a load balancer in front)")
        return
    elif _http_uri(out, target) is None:
        out.skip(name, f"its integration with {target} ({kind}{', ' + c.integration.op if c.integration.op else ''}) "
                       "is an AWS service integration with a request template, not exported yet")
        return
    if c.authorizer is not None:
        out.note(name, "the authorizer is not exported")
    if c.method_throttle is not None or c.account_throttle is not None:
        out.note(name, "method_throttle and account_throttle are not exported (the stage's default throttle is)")
    if c.api == "http":
        _http_api(out, name, c, target)
    else:
        _rest_api(out, name, c, target)


def _permission(out: Out, name: str, api: str, target: str) -> None:
    out.helper(name, "InvokePermission", "AWS::Lambda::Permission", {
        "FunctionName": ref(out.lid(target)), "Action": "lambda:InvokeFunction",
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": sub(f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*")})


def _rest_api(out: Out, name: str, c: Any, target: str) -> None:
    api = out.add(out.lid(name), "AWS::ApiGateway::RestApi", {
        "Name": name, "EndpointConfiguration": {"Types": ["REGIONAL"]}})
    proxy = out.helper(name, "ProxyResource", "AWS::ApiGateway::Resource", {
        "RestApiId": ref(api), "ParentId": getatt(api, "RootResourceId"), "PathPart": "{proxy+}"})
    lam = out.kind(target) == "lambda"
    timeout = int(c.timeout * 1000)
    methods = []
    for suffix, resource in (("RootMethod", getatt(api, "RootResourceId")), ("ProxyMethod", ref(proxy))):
        if lam:
            integ: dict[str, Any] = {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
                                     "Uri": sub(_LAMBDA_URI.format(fn=out.lid(target)))}
        else:
            integ = {"Type": "HTTP_PROXY", "IntegrationHttpMethod": "ANY", "Uri": _http_uri(out, target)}
            if suffix == "ProxyMethod":
                integ["RequestParameters"] = {"integration.request.path.proxy": "method.request.path.proxy"}
        integ["TimeoutInMillis"] = timeout
        methods.append(out.helper(name, suffix, "AWS::ApiGateway::Method", {
            "RestApiId": ref(api), "ResourceId": resource, "HttpMethod": "ANY", "AuthorizationType": "NONE",
            "RequestParameters": {"method.request.path.proxy": True} if suffix == "ProxyMethod" and not lam else None,
            "Integration": integ}))
    deployment = out.helper(name, "Deployment", "AWS::ApiGateway::Deployment", {"RestApiId": ref(api)},
                            DependsOn=methods)
    setting: dict[str, Any] = {"ResourcePath": "/*", "HttpMethod": "*"}
    if c.throttle is not None:
        setting.update(ThrottlingRateLimit=c.throttle.rate, ThrottlingBurstLimit=c.throttle.burst)
    if c.cache is not None:
        setting.update(CachingEnabled=True, CacheTtlInSeconds=int(c.cache.ttl))
    out.helper(name, "Stage", "AWS::ApiGateway::Stage", {
        "RestApiId": ref(api), "DeploymentId": ref(deployment), "StageName": "prod",
        "CacheClusterEnabled": True if c.cache is not None else None,
        "CacheClusterSize": f"{c.cache.size_gb:g}" if c.cache is not None else None,
        "MethodSettings": [setting] if len(setting) > 2 else None})
    if lam:
        _permission(out, name, api, target)


def _http_api(out: Out, name: str, c: Any, target: str) -> None:
    api = out.add(out.lid(name), "AWS::ApiGatewayV2::Api", {"Name": name, "ProtocolType": "HTTP"})
    lam = out.kind(target) == "lambda"
    integ = out.helper(name, "Integration", "AWS::ApiGatewayV2::Integration", {
        "ApiId": ref(api), "IntegrationType": "AWS_PROXY" if lam else "HTTP_PROXY",
        "IntegrationUri": getatt(out.lid(target), "Arn") if lam else _http_uri(out, target),
        "IntegrationMethod": None if lam else "ANY", "PayloadFormatVersion": "2.0" if lam else "1.0",
        "TimeoutInMillis": int(c.timeout * 1000)})
    out.helper(name, "DefaultRoute", "AWS::ApiGatewayV2::Route", {
        "ApiId": ref(api), "RouteKey": "$default", "Target": sub(f"integrations/${{{integ}}}")})
    out.helper(name, "Stage", "AWS::ApiGatewayV2::Stage", {
        "ApiId": ref(api), "StageName": "$default", "AutoDeploy": True,
        "DefaultRouteSettings": {"ThrottlingRateLimit": c.throttle.rate, "ThrottlingBurstLimit": c.throttle.burst}
        if c.throttle is not None else None})
    if lam:
        _permission(out, name, api, target)


def cognito(out: Out, name: str, c: Any) -> None:
    """A user pool; its post-confirmation trigger, with the permission Cognito needs to invoke it."""
    pool = out.add(out.lid(name), "AWS::Cognito::UserPool", {
        "UserPoolName": f"{out.arch.name}-{name}"[:128], "AutoVerifiedAttributes": ["email"],
        "UsernameAttributes": ["email"],
        "LambdaConfig": {"PostConfirmation": getatt(out.lid(c.post_confirmation), "Arn")}
        if c.post_confirmation else None})
    if c.post_confirmation:
        out.helper(name, f"Invoke{out.lid(c.post_confirmation)}Permission", "AWS::Lambda::Permission", {
            "FunctionName": ref(out.lid(c.post_confirmation)), "Action": "lambda:InvokeFunction",
            "Principal": "cognito-idp.amazonaws.com", "SourceArn": getatt(pool, "Arn")})
