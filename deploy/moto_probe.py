"""Measures what moto's CloudFormation does with every resource type of the synthesized templates (deploy/MOTO.md).

Usage: .venv/bin/python deploy/moto_probe.py rcdk.out   (after `cargo xtask synth`; starts its own moto)

Per type: a stack holding one resource of that type, with the properties of its first occurrence in the templates
(references to other resources replaced by placeholders), then the same resource with an output reading its first
attribute by `Fn::GetAtt`. Each result is one of: created (listed with a physical id), skipped (the stack completes
without it), error (the stack or the call fails; the message is kept), hangs (no answer within the timeout).
Also: `Fn::GetStackOutput`, change-set Modify, UpdateStack Modify.
"""

import glob
import json
import os
import socket
import subprocess
import sys
import threading
import time

import boto3
import botocore.config

TIMEOUT = 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_moto():
    port = free_port()
    code = (
        "from werkzeug.serving import make_server\n"
        "from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app\n"
        f"make_server('127.0.0.1', {port}, DomainDispatcherApplication(create_backend_app), threaded=False).serve_forever()\n"
    )
    log = open(os.environ.get("MOTO_PROBE_LOG", os.devnull), "w")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("moto did not start")


def placeholder(v):
    """Replaces references to other resources and parameters with literal placeholders."""
    if isinstance(v, dict):
        if len(v) == 1:
            (k, a), = v.items()
            if k == "Ref":
                return "probe"
            if k == "Fn::GetAtt":
                return "arn:aws:iam::123456789012:role/probe" if "Arn" in str(a) else "probe"
            if k in ("Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::GetStackOutput", "Fn::If"):
                return "probe"
        return {k: placeholder(x) for k, x in v.items()}
    if isinstance(v, list):
        return [placeholder(x) for x in v]
    return v


def main(out):
    proc, endpoint = start_moto()
    kw = dict(endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="testing",
              aws_secret_access_key="testing",
              config=botocore.config.Config(read_timeout=TIMEOUT, retries={"max_attempts": 0}))
    cfn = boto3.client("cloudformation", **kw)
    s3 = boto3.client("s3", **kw)
    iam = boto3.client("iam", **kw)
    s3.create_bucket(Bucket="rcdk-assets-123456789012-eu-west-1",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    role = iam.create_role(RoleName="probe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    first = {}
    for f in sorted(glob.glob(os.path.join(out, "*.template.json"))):
        for lid, r in json.load(open(f))["Resources"].items():
            first.setdefault(r["Type"], (lid, r))
    schema_attrs = {}
    n = 0

    def run(name, template, create=True):
        nonlocal n
        n += 1
        stack = f"probe-{n}"
        result = {}

        def call():
            try:
                cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"])
                st = cfn.describe_stacks(StackName=stack)["Stacks"][0]
                res = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
                result["status"] = st["StackStatus"]
                result["resources"] = {x["LogicalResourceId"]: x.get("PhysicalResourceId") for x in res}
                result["outputs"] = {o["OutputKey"]: o.get("OutputValue") for o in st.get("Outputs", [])}
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                result["error"] = str(e).replace("\n", " ")[:160]

        t = threading.Thread(target=call, daemon=True)
        t.start()
        t.join(TIMEOUT + 2)
        if t.is_alive() or "Read timeout" in result.get("error", ""):
            return "hangs", ""
        if "error" in result:
            return "error", result["error"]
        if not result["status"].endswith("_COMPLETE") or "ROLLBACK" in result["status"]:
            return "error", result["status"]
        return "ok", result

    rows = []
    for type_name, (lid, r) in sorted(first.items()):
        props = placeholder(r.get("Properties", {}))
        if type_name == "AWS::Lambda::Function":
            props["Role"] = role
        resource = {"Type": type_name, "Properties": props}
        kind, detail = run(type_name, {"Resources": {"R": resource}})
        if kind == "ok":
            phys = detail["resources"].get("R")
            kind, detail = ("created", phys) if phys else ("skipped", "")
        getatt = ""
        if kind in ("created", "skipped"):
            attr = "Arn"
            g, gd = run(type_name, {"Resources": {"R": resource},
                                    "Outputs": {"A": {"Value": {"Fn::GetAtt": ["R", attr]}}}})
            getatt = {"ok": "answers" if gd["outputs"].get("A") else "empty"}.get(g, g) if isinstance(gd, dict) else g
            if isinstance(gd, str) and gd:
                getatt += f" ({gd[:60]})"
        rows.append((type_name, kind, detail if kind == "error" else "", getatt))
        print(f"{type_name}\t{kind}\t{getatt}\t{detail if kind == 'error' else ''}", flush=True)

    # The synthesized templates in full, in dependency order, `Fn::GetStackOutput` resolved from the outputs of
    # the stacks before (what the deploy engine does for the local cloud), every asset key holding a zip.
    import io, zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    for a in manifest["assets"]:
        for region in ("eu-west-1", "us-east-1"):
            rs3 = boto3.client("s3", **{**kw, "region_name": region})
            bucket = f"rcdk-assets-123456789012-{region}"
            try:
                rs3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else {
                    "CreateBucketConfiguration": {"LocationConstraint": region}}))
            except Exception:  # noqa: BLE001 - exists
                pass
            rs3.put_object(Bucket=bucket, Key=f"assets/{a['hash']}.zip", Body=buf.getvalue())
    outputs = {}

    def resolve(v, region):
        if isinstance(v, dict):
            if len(v) == 1 and "Fn::GetStackOutput" in v:
                a = v["Fn::GetStackOutput"]
                return outputs.get((a.get("Region", region), a["StackName"]), {}).get(a["OutputName"], "unresolved")
            return {k: resolve(x, region) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x, region) for x in v]
        return v

    for st in manifest["stacks"]:
        t = resolve(json.load(open(os.path.join(out, st["templateFile"]))), st["region"])
        rc = boto3.client("cloudformation", **{**kw, "region_name": st["region"]})
        result = {}

        def call():
            try:
                rc.create_stack(StackName=st["name"], TemplateBody=json.dumps(t), Capabilities=["CAPABILITY_NAMED_IAM"])
                d = rc.describe_stacks(StackName=st["name"])["Stacks"][0]
                result["status"] = d["StackStatus"]
                result["outputs"] = {o["OutputKey"]: o.get("OutputValue") for o in d.get("Outputs", [])}
                res = rc.list_stack_resources(StackName=st["name"])["StackResourceSummaries"]
                result["resources"] = {x["LogicalResourceId"]: x["ResourceStatus"] for x in res}
            except Exception as e:  # noqa: BLE001
                result["error"] = str(e).replace("\n", " ")[:200]

        started = time.time()
        th = threading.Thread(target=call, daemon=True)
        th.start()
        th.join(TIMEOUT * 3)
        took = time.time() - started
        if th.is_alive():
            print(f"stack {st['name']}\thangs (> {TIMEOUT * 3} s)", flush=True)
            continue
        if "error" in result:
            print(f"stack {st['name']}\terror\t{result['error']}", flush=True)
            continue
        outputs[(st["region"], st["name"])] = result["outputs"]
        missing = sorted(f"{r['Type']} {lid}" for lid, r in t["Resources"].items() if lid not in result["resources"])
        print(f"stack {st['name']}\t{result['status']} in {took:.1f} s\t{len(result['resources'])} of "
              f"{len(t['Resources'])} resources; outputs {len(result['outputs'])} of {len(t.get('Outputs', {}))}; "
              f"not created: {', '.join(missing)}", flush=True)

    # Fn::GetStackOutput
    k, d = run("gso", {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {
        "Tags": [{"Key": "k", "Value": {"Fn::GetStackOutput": {"StackName": "mod", "OutputName": "y"}}}]}}}})
    print(f"Fn::GetStackOutput\t{k}\t{d if isinstance(d, str) else ''}", flush=True)
    # Modify through a change set vs UpdateStack
    q = lambda v: {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": v}}}}
    cfn.create_stack(StackName="mod", TemplateBody=json.dumps(q(30)))
    cfn.create_change_set(StackName="mod", ChangeSetName="c", ChangeSetType="UPDATE", TemplateBody=json.dumps(q(60)))
    cs = cfn.describe_change_set(StackName="mod", ChangeSetName="c")
    cfn.execute_change_set(StackName="mod", ChangeSetName="c")
    url = cfn.list_stack_resources(StackName="mod")["StackResourceSummaries"][0]["PhysicalResourceId"]
    sqs = boto3.client("sqs", **kw)
    vt = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]
    print(f"change set Modify\tchanges={[c['ResourceChange']['Action'] for c in cs['Changes']]}\tvisibility after execute={vt} (wanted 60)")
    cfn.update_stack(StackName="mod", TemplateBody=json.dumps(q(90)))
    vt = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]
    print(f"UpdateStack Modify\tvisibility after update={vt} (wanted 90)")
    # Modify of a table and a function through a change set
    tb = lambda cls: {"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST", "TableClass": cls, "TableName": "probe-class"}}}}
    cfn.create_stack(StackName="modt", TemplateBody=json.dumps(tb("STANDARD")))
    cfn.create_change_set(StackName="modt", ChangeSetName="c", ChangeSetType="UPDATE", TemplateBody=json.dumps(tb("STANDARD_INFREQUENT_ACCESS")))
    cfn.execute_change_set(StackName="modt", ChangeSetName="c")
    name = cfn.list_stack_resources(StackName="modt")["StackResourceSummaries"][0]["PhysicalResourceId"]
    ddb = boto3.client("dynamodb", **kw)
    try:
        cls = ddb.describe_table(TableName=name)["Table"].get("TableClassSummary", {}).get("TableClass")
    except Exception as e:  # noqa: BLE001
        cls = f"error: physical id {name!r}: {str(e)[:80]}"
    print(f"change set Modify (table class)\tafter execute={cls} (wanted STANDARD_INFREQUENT_ACCESS)")
    # A table without TableName: its physical id
    cfn.create_stack(StackName="noname", TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::DynamoDB::Table",
        "Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                       "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                       "BillingMode": "PAY_PER_REQUEST"}}}}))
    phys = cfn.list_stack_resources(StackName="noname")["StackResourceSummaries"][0]["PhysicalResourceId"]
    print(f"table without TableName\tphysical id {phys!r}")
    # An SSM parameter without Name
    k, d = run("ssm", {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}}}})
    print(f"SSM parameter without Name\t{k}\t{d if isinstance(d, str) else ''}")
    # Outputs of a stack created by executing a change set
    t = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"QRef": {"Value": {"Ref": "Q"}}}}
    cfn.create_change_set(StackName="csout", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=json.dumps(t))
    cfn.execute_change_set(StackName="csout", ChangeSetName="c")
    d = cfn.describe_stacks(StackName="csout")["Stacks"][0]
    print(f"outputs of a stack created by a change set\t{d['StackStatus']}\t{d.get('Outputs')}")
    proc.kill()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "rcdk.out")
