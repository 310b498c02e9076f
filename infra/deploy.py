#!/usr/bin/env python3
"""Deploys template.yaml to an emulator (MiniStack or LocalStack) the way
`sam deploy` does on AWS: zip each function's binary as `bootstrap`, upload
the zips to an artifacts bucket, point CodeUri at them, and create or update
the stack through a change set (the SAM transform runs in CloudFormation).

Then applies the post-deploy fix-ups that make the emulator behave like AWS
where it does not (each one is explained in docs/emulators.md), and writes
the stack outputs to a JSON file for the tests and tools.

Endpoint, region and credentials come from the standard AWS_* variables.
"""
import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile

import boto3
import yaml
from botocore.exceptions import ClientError

ARTIFACTS_BUCKET = "serverless-commerce-artifacts"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags into long forms."""


def _tag(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {"Ref": value} if name == "Ref" else {name: value}

    return construct


for _short in ["Ref", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not",
               "And", "Or", "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr",
               "Condition", "Transform"]:
    CfnLoader.add_constructor(
        f"!{_short}", _tag(_short if _short in ("Ref", "Condition") else f"Fn::{_short}"))


def log(msg):
    print(f"    {msg}", flush=True)


def zip_bootstrap(binary_path):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(binary_path, "rb") as f:
            zf.writestr(info, f.read(), compresslevel=1)
    return data.getvalue()


def ensure_bucket(s3, bucket):
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


def binary_path(bin_dir, layout, binary):
    # flat: target/<profile>/<binary>; cargo-lambda: target/lambda/<binary>/bootstrap
    if layout == "cargo-lambda":
        return os.path.join(bin_dir, binary, "bootstrap")
    return os.path.join(bin_dir, binary)


def package(template, bin_dir, layout, s3):
    """Replaces CodeUri of every function with its uploaded zip."""
    ensure_bucket(s3, ARTIFACTS_BUCKET)
    uploaded = {}
    for logical_id, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = (res.get("Metadata") or {}).get("BuildProperties", {}).get("Binary")
        if not binary:
            sys.exit(f"{logical_id}: Metadata.BuildProperties.Binary is required")
        if binary not in uploaded:
            path = binary_path(bin_dir, layout, binary)
            if not os.path.exists(path):
                sys.exit(f"{logical_id}: {path} not found; build first (cargo build --workspace --bins)")
            body = zip_bootstrap(path)
            key = f"functions/{binary}-{hashlib.sha256(body).hexdigest()[:16]}.zip"
            try:
                s3.head_object(Bucket=ARTIFACTS_BUCKET, Key=key)
            except ClientError:
                s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=body)
                log(f"uploaded {binary} ({len(body) / 1e6:.1f} MB zipped)")
            uploaded[binary] = key
        res["Properties"]["CodeUri"] = {"Bucket": ARTIFACTS_BUCKET, "Key": uploaded[binary]}
        res.pop("Metadata", None)
    return template


def stack_status(cfn, stack):
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise


def print_failures(cfn, stack, since):
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except ClientError:
        return
    for ev in reversed(events):
        if "FAILED" in ev.get("ResourceStatus", "") and ev["Timestamp"].timestamp() >= since - 1:
            print(f"    {ev['LogicalResourceId']}: {ev['ResourceStatus']}: "
                  f"{ev.get('ResourceStatusReason', '')}", file=sys.stderr)


def deploy(cfn, s3, stack, body, parameters):
    status = stack_status(cfn, stack)
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "REVIEW_IN_PROGRESS"):
        log(f"stack is {status}; deleting it before creating it again")
        cfn.delete_stack(StackName=stack)
        for _ in range(300):
            if stack_status(cfn, stack) in (None, "DELETE_COMPLETE"):
                break
            time.sleep(1)
        status = None
    kind = "CREATE" if status is None else "UPDATE"
    template_arg = {"TemplateBody": body}
    if len(body) > 51200:
        s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=f"templates/{stack}.json", Body=body.encode())
        endpoint = s3.meta.endpoint_url.rstrip("/")
        template_arg = {"TemplateURL": f"{endpoint}/{ARTIFACTS_BUCKET}/templates/{stack}.json"}
    name = f"deploy-{int(time.time())}"
    started = time.time()
    cfn.create_change_set(
        StackName=stack, ChangeSetName=name, ChangeSetType=kind, Capabilities=CAPABILITIES,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        **template_arg)
    for _ in range(600):
        cs = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        if cs["Status"] in ("CREATE_COMPLETE", "FAILED"):
            break
        time.sleep(0.5)
    if cs["Status"] == "FAILED":
        reason = cs.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            log("no changes")
            cfn.delete_change_set(StackName=stack, ChangeSetName=name)
            return
        sys.exit(f"change set failed: {reason}")
    log(f"{kind.lower()} with {len(cs.get('Changes', []))} changes")
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    for i in range(1800):
        status = stack_status(cfn, stack)
        if status and status.endswith("_COMPLETE") and "ROLLBACK" not in status:
            log(f"{status} in {time.time() - started:.1f}s")
            return
        if status and ("FAILED" in status or "ROLLBACK" in status) and status.endswith(("COMPLETE", "FAILED")):
            print_failures(cfn, stack, started)
            sys.exit(f"deploy failed: stack is {status}")
        if i and i % 20 == 0:
            log(f"still deploying ({status}, {time.time() - started:.0f}s)")
        time.sleep(0.5)
    sys.exit("deploy timed out")


def fixups(session, stack, template):
    """Emulator gaps closed from the outside (see docs/emulators.md)."""
    cfn = session.client("cloudformation")
    ddb = session.client("dynamodb")
    lam = session.client("lambda")
    ses = session.client("ses")
    physical = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            physical[r["LogicalResourceId"]] = r["PhysicalResourceId"]
    resources = template["Resources"]

    # 1. TimeToLiveSpecification is not applied by MiniStack's CloudFormation.
    for lid, res in resources.items():
        ttl = (res.get("Properties") or {}).get("TimeToLiveSpecification")
        if res["Type"] == "AWS::DynamoDB::Table" and ttl and ttl.get("Enabled"):
            desc = ddb.describe_time_to_live(TableName=physical[lid])["TimeToLiveDescription"]
            if desc.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(TableName=physical[lid], TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": ttl["AttributeName"]})
                log(f"fixup: TTL on {lid}")

    # 2. A function deployed without code answers every invoke with a mock
    #    200 on MiniStack: fail loudly instead.
    for lid, res in resources.items():
        if res["Type"] == "AWS::Serverless::Function" and lid in physical:
            cfg = lam.get_function_configuration(FunctionName=physical[lid])
            if not cfg.get("CodeSize"):
                sys.exit(f"{lid} was deployed without code")

    # 3. MiniStack ignores MaximumRetryAttempts on stream mappings and would
    #    retry a failing batch forever; MaximumRecordAgeInSeconds is honoured
    #    and sends the batch to the on-failure destination, as AWS does after
    #    the retries run out.
    for mapping in lam.list_event_source_mappings().get("EventSourceMappings", []):
        if ":dynamodb:" in mapping.get("EventSourceArn", "") and \
                mapping.get("MaximumRecordAgeInSeconds") in (None, -1):
            fn = mapping.get("FunctionArn", "")
            if any(physical.get(l) and physical[l] in fn for l in resources):
                lam.update_event_source_mapping(UUID=mapping["UUID"], MaximumRecordAgeInSeconds=120)
                log(f"fixup: stream mapping of {fn.rsplit(':', 1)[-1]} bounded to 120 s of retries")

    # 4. SES only sends from verified identities; verify the sender domain.
    sender = next((p["ParameterValue"] for p in
                   cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Parameters", [])
                   if p["ParameterKey"] == "EmailFrom"), None)
    if sender:
        domain = sender.split("@")[-1]
        ses.verify_domain_identity(Domain=domain)
        ses.verify_email_identity(EmailAddress=sender)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--template", required=True)
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--bin-layout", choices=["flat", "cargo-lambda"], default="flat")
    parser.add_argument("--outputs", required=True)
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    session = boto3.session.Session()
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    with open(args.template) as f:
        template = yaml.load(f, Loader=CfnLoader)
    declared = template.get("Parameters", {})
    parameters = {}
    for item in args.parameter:
        key, _, value = item.partition("=")
        if key in declared:
            parameters[key] = value
    packaged = package(template, args.bin_dir, args.bin_layout, s3)
    deploy(cfn, s3, args.stack_name, json.dumps(packaged), parameters)
    fixups(session, args.stack_name, packaged)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in
               cfn.describe_stacks(StackName=args.stack_name)["Stacks"][0].get("Outputs", [])}
    with open(args.outputs, "w") as f:
        json.dump(outputs, f, indent=2, sort_keys=True)
    log(f"{len(outputs)} outputs written to {os.path.relpath(args.outputs)}")


if __name__ == "__main__":
    main()
