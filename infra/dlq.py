#!/usr/bin/env python3
"""Dead-letter queues of a deployed stack: list depths, peek, redrive.

A DLQ is any SQS queue of the stack that another queue's RedrivePolicy points
at, plus the outbox relay's on-failure queues. `redrive` moves every message
back to its source queue (receive, send, delete: at-least-once, which the
idempotent consumers tolerate).
"""
import argparse
import json
import sys

import boto3


def stack_queues(session, stack):
    cfn, sqs = session.client("cloudformation"), session.client("sqs")
    urls = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            if r["ResourceType"] == "AWS::SQS::Queue":
                urls[r["LogicalResourceId"]] = r["PhysicalResourceId"]
    queues = {}
    for lid, url in urls.items():
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        queues[lid] = {"url": url, "attrs": attrs}
    return queues


def dead_letter_queues(queues):
    by_arn = {q["attrs"]["QueueArn"]: lid for lid, q in queues.items()}
    dlqs = {}
    for lid, q in queues.items():
        policy = q["attrs"].get("RedrivePolicy")
        if policy:
            target = by_arn.get(json.loads(policy).get("deadLetterTargetArn"))
            if target:
                dlqs[target] = lid
    for lid in queues:
        if lid.endswith("RelayFailures"):
            dlqs.setdefault(lid, None)
    return dlqs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack-name", required=True)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    peek = sub.add_parser("peek")
    peek.add_argument("queue")
    peek.add_argument("count", nargs="?", type=int, default=10)
    redrive = sub.add_parser("redrive")
    redrive.add_argument("queue")
    args = parser.parse_args()

    session = boto3.session.Session()
    sqs = session.client("sqs")
    queues = stack_queues(session, args.stack_name)
    dlqs = dead_letter_queues(queues)

    if args.cmd == "list":
        print(f"{'dead-letter queue':40} {'messages':>8}  source")
        for lid, source in sorted(dlqs.items()):
            depth = queues[lid]["attrs"].get("ApproximateNumberOfMessages", "?")
            print(f"{lid:40} {depth:>8}  {source or '(stream on-failure records)'}")
        return
    if args.queue not in dlqs:
        sys.exit(f"{args.queue} is not a dead-letter queue of {args.stack_name}; "
                 f"try one of: {', '.join(sorted(dlqs))}")
    url = queues[args.queue]["url"]
    if args.cmd == "peek":
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(args.count, 10),
                                  VisibilityTimeout=0, AttributeNames=["All"])
        for m in out.get("Messages", []):
            received = m.get("Attributes", {}).get("ApproximateReceiveCount", "?")
            print(f"--- {m['MessageId']} (received {received}x)\n{m['Body']}")
        return
    source = dlqs[args.queue]
    if source is None:
        sys.exit(f"{args.queue} holds stream on-failure records (shard and sequence range), "
                 "not messages: republish the events from the outbox items they point at")
    moved = 0
    while True:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                  MessageAttributeNames=["All"])
        messages = out.get("Messages", [])
        if not messages:
            break
        for m in messages:
            send = {"QueueUrl": queues[source]["url"], "MessageBody": m["Body"]}
            if m.get("MessageAttributes"):
                send["MessageAttributes"] = m["MessageAttributes"]
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    print(f"moved {moved} message(s) from {args.queue} back to {source}")


if __name__ == "__main__":
    main()
