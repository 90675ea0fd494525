"""Synthesizes the Python example with the built wheel and checks the template as a Python user would."""
import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from app import build


def template() -> Template:
    return Template.from_stack(build(cdk.App()))


def test_aurora_scales_from_zero_to_one_acu_with_five_minute_auto_pause():
    template().has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "ServerlessV2ScalingConfiguration": {
                "MinCapacity": 0,
                "MaxCapacity": 1,
                "SecondsUntilAutoPause": 300,
            },
            "StorageEncrypted": True,
        },
    )


def test_api_is_deployed_to_the_test_stage():
    template().has_resource_properties("AWS::ApiGateway::Stage", {"StageName": "Test"})


def test_every_method_but_preflight_requires_an_api_key():
    methods = template().find_resources("AWS::ApiGateway::Method")
    assert methods, "the API has no methods"
    for logical_id, method in methods.items():
        props = method["Properties"]
        if props["HttpMethod"] != "OPTIONS":
            assert props.get("ApiKeyRequired") is True, logical_id


def test_task_is_a_quarter_vcpu_with_half_a_gigabyte():
    template().has_resource_properties(
        "AWS::ECS::TaskDefinition", {"Cpu": "256", "Memory": "512", "RequiresCompatibilities": ["FARGATE"]}
    )


def test_usage_plan_limits_each_key():
    template().has_resource_properties(
        "AWS::ApiGateway::UsagePlan", {"Throttle": Match.object_like({"RateLimit": Match.any_value()})}
    )
