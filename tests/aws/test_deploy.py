"""deploy/template*.yaml: they pass cfn-lint, and they wire what the issue asks, least privilege.

The templates are read with cfn-lint's own YAML decoder (it knows ``!Ref``, ``!Sub``...), so each
short-form tag arrives as its long form (``{"Fn::Sub": ...}``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arthur_capture.aws._config import ENV

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
QUEUED = DEPLOY / "template.yaml"
DIRECT = DEPLOY / "template-s3-notification.yaml"
TEMPLATES = [QUEUED, DIRECT]
ZIP = ROOT / "dist" / "arthur-capture-lambda.zip"
NO_VALUE = {"Ref": "AWS::NoValue"}


def _load(path: Path) -> dict[str, Any]:
    decode = pytest.importorskip("cfnlint.decode").decode
    template, problems = decode(str(path))
    assert not problems, problems
    assert isinstance(template, dict)
    return template


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    ((name, properties),) = _resources(template, kind).items()
    return name, properties


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The role's statements, both branches of each ``Fn::If`` (minus ``AWS::NoValue``)."""
    _, role = _one(template, "AWS::IAM::Role")
    (policy,) = role["Policies"]
    found: list[dict[str, Any]] = []
    for item in policy["PolicyDocument"]["Statement"]:
        branches = item["Fn::If"][1:] if "Fn::If" in item else [item]
        found.extend(branch for branch in branches if branch != NO_VALUE)
    return found


def _by_sid(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in _statements(template)}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _sub(value: Any) -> str:
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::Sub"}, value
    text = value["Fn::Sub"]
    assert isinstance(text, str)
    return text


def test_cfn_lint_passes_both_templates() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if not cfn_lint.exists():
        cfn_lint = Path(shutil.which("cfn-lint") or "cfn-lint")
    if not cfn_lint.exists():
        pytest.skip("cfn-lint is not installed (extra: dev)")
    answer = subprocess.run(  # noqa: S603 - the venv's cfn-lint on our templates
        [str(cfn_lint), "--format", "parseable", *map(str, TEMPLATES)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    # exit status: 2 errors, 4 warnings, 8 informational (bits): none of them
    assert (answer.returncode, answer.stdout, answer.stderr) == (0, "", "")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_function(path: Path) -> None:
    template = _load(path)
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    _, function = _one(template, "AWS::Serverless::Function")
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["x86_64"]
    assert function["Handler"] == "arthur_capture.aws.lambda_handler"
    assert function["Timeout"] == 900
    assert (DEPLOY / function["CodeUri"]).resolve() == ZIP  # what deploy/build.py makes
    variables = function["Environment"]["Variables"]
    assert ENV.TOKEN not in variables  # the token comes from the secret, never in plain text
    assert variables[ENV.TOKEN_SECRET] == {"Ref": "ArthurTokenSecretName"}
    for name in (ENV.HOST, ENV.MODEL_ID, ENV.SINK, ENV.SCHEMA, ENV.REJECTS_URI, ENV.ENGINE_URI):
        assert name in variables
    assert variables[ENV.IDEMPOTENCY_TABLE] == {"Ref": "IdempotencyTable"}
    assert template["Parameters"]["Sink"]["AllowedValues"] == ["inferences", "forward", "engine"]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_idempotency_table_has_powertools_layout(path: Path) -> None:
    _, table = _one(_load(path), "AWS::DynamoDB::Table")
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_eventbridge_rule_to_queue_with_dead_letters_to_function() -> None:
    template = _load(QUEUED)
    rule_name, rule = _one(template, "AWS::Events::Rule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "CaptureBucket"}]
    (key,) = pattern["detail"]["object"]["key"]
    assert _sub(key["wildcard"]) == "${CapturePrefix}*.jsonl"
    queues = _resources(template, "AWS::SQS::Queue")
    (target,) = rule["Targets"]
    queue_name = target["Arn"]["Fn::GetAtt"][0]
    queue = queues[queue_name]
    # the dead-letter queue: redrive after MaxReceiveCount deliveries
    dlq_name = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert dlq_name in queues
    assert dlq_name != queue_name
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    # only this rule may send to the queue
    _, queue_policy = _one(template, "AWS::SQS::QueuePolicy")
    (send,) = queue_policy["PolicyDocument"]["Statement"]
    assert send["Principal"] == {"Service": "events.amazonaws.com"}
    assert send["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_name, "Arn"]}
    # the function reads the queue, reporting failed messages only
    _, function = _one(template, "AWS::Serverless::Function")
    (source,) = function["Events"].values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": [queue_name, "Arn"]}
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # AWS: the queue's visibility timeout at least six times the function's timeout
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_the_direct_variant_lets_the_bucket_invoke_and_keeps_failures() -> None:
    template = _load(DIRECT)
    function_name, function = _one(template, "AWS::Serverless::Function")
    assert "Events" not in function  # the bucket is not in the stack: notification by CLI
    _, permission = _one(template, "AWS::Lambda::Permission")
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["FunctionName"] == {"Ref": function_name}
    assert permission["Principal"] == "s3.amazonaws.com"
    assert _sub(permission["SourceArn"]) == "arn:${AWS::Partition}:s3:::${CaptureBucket}"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    (dlq_name,) = _resources(template, "AWS::SQS::Queue")
    on_failure = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": [dlq_name, "Arn"]}}
    send = _by_sid(template)["FailedEventsToTheDeadLetterQueue"]
    assert send["Action"] == "sqs:SendMessage"
    assert send["Resource"] == {"Fn::GetAtt": [dlq_name, "Arn"]}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_role_grants_no_wildcard_resource_or_action(path: Path) -> None:
    template = _load(path)
    for statement in _statements(template):
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            assert "*" not in action, statement
        for resource in _listed(statement["Resource"]):
            assert resource != "*", statement
            if isinstance(resource, dict) and "Fn::Sub" in resource:
                # a "*" only ends a key prefix, never stands for a bucket, account or service
                text = _sub(resource)
                assert text.count("*") <= 1, statement
                assert not text.endswith((":*", ":::*", "/*")), statement
    _, role = _one(template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_role_is_least_privilege(path: Path) -> None:
    template = _load(path)
    grants: dict[str, list[Any]] = {}
    for statement in _statements(template):
        for action in _listed(statement["Action"]):
            grants.setdefault(action, []).extend(_listed(statement["Resource"]))
    bucket = "arn:${AWS::Partition}:s3:::${CaptureBucket}"
    assert sorted(_sub(r) for r in grants["s3:GetObject"]) == sorted(
        [
            f"{bucket}/${{CapturePrefix}}*",
            f"{bucket}/${{SchemaKey}}",
            f"{bucket}/${{EnginePrefix}}*",
        ]
    )
    assert sorted(_sub(r) for r in grants["s3:PutObject"]) == sorted(
        [f"{bucket}/${{RejectsPrefix}}*", f"{bucket}/${{EnginePrefix}}*"]
    )
    assert [_sub(r) for r in grants["s3:DeleteObject"]] == [f"{bucket}/${{EnginePrefix}}*"]
    assert [_sub(r) for r in grants["s3:ListBucket"]] == [bucket]
    statements = _by_sid(template)
    listing = statements["ListEngineDatasets"]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [{"Fn::Sub": "${EnginePrefix}*"}]
    kms = statements["DecryptThroughS3"]
    assert kms["Resource"] == {"Ref": "KmsKeyArn"}
    assert _listed(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert _sub(kms["Condition"]["StringEquals"]["kms:ViaService"]) == (
        "s3.${AWS::Region}.amazonaws.com"
    )
    (secret,) = grants["secretsmanager:GetSecretValue"]
    assert _sub(secret).endswith(":secret:${ArthurTokenSecretName}-??????")
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        assert grants[f"dynamodb:{action}"] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
    assert grants["logs:PutLogEvents"] == [{"Fn::GetAtt": ["CaptureLogGroup", "Arn"]}]
    allowed_services = {"s3", "kms", "secretsmanager", "dynamodb", "logs", "sqs"}
    assert {action.partition(":")[0] for action in grants} <= allowed_services
