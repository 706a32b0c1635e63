//! `iam::Role`, policy documents and grants.

use constructs::iam::{PolicyStatement, Principal, Role, RoleProps, WILDCARD_METADATA_KEY};
use serde_json::json;
use synth::{App, Stack, StackProps, Val};

use super::support::*;

#[test]
fn role_trusts_one_principal_and_has_no_managed_policies() {
    let t = template(|s| {
        Role::new(s, "Worker", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
    });
    let p = props(&t, "Worker");
    assert_eq!(
        p["AssumeRolePolicyDocument"],
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    );
    assert!(p.get("ManagedPolicyArns").is_none());
    assert!(p.get("Policies").is_none(), "no empty policy");
    let m = &resource(&t, "Worker")["Metadata"];
    assert_eq!(m["guard"]["SuppressedRules"], json!(["IAM_NO_INLINE_POLICY_CHECK"]), "grants go inline, by design");
    assert_eq!(m["rcdk:suppressions"][0]["id"], "scanner:IamInlinePolicy");
}

#[test]
fn statements_collect_into_one_inline_policy_and_wildcards_carry_reasons() {
    let t = template(|s| {
        let r = Role::new(s, "Worker", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        r.add_to_policy(s, PolicyStatement::allow(["sqs:SendMessage"], [Val::from("arn:aws:sqs:eu-west-1:1:a")]));
        r.add_to_policy(s, PolicyStatement::allow(["sqs:SendMessage"], [Val::from("arn:aws:sqs:eu-west-1:1:b")]));
        r.add_to_policy(s, PolicyStatement::any_resource(["xray:PutTraceSegments"], "no resource-level permissions"));
    });
    let p = props(&t, "Worker");
    assert_eq!(p["Policies"].as_array().unwrap().len(), 1);
    assert_eq!(p["Policies"][0]["PolicyName"], "grants");
    let st = role_statements(&t, "Worker");
    assert_eq!(st.len(), 2, "same actions on two queues merge: {st:?}");
    assert_eq!(st[0]["Resource"], json!(["arn:aws:sqs:eu-west-1:1:a", "arn:aws:sqs:eu-west-1:1:b"]));
    assert_eq!(
        resource(&t, "Worker")["Metadata"][WILDCARD_METADATA_KEY],
        json!([{"actions": ["xray:PutTraceSegments"], "reason": "no resource-level permissions"}])
    );
}

#[test]
fn a_role_anyone_may_assume_is_refused() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let e = Role::new(&mut stack.root(), "Open", Principal::Anyone, RoleProps::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Open: invalid trusted principal \"*\": a service, an account or a role; a role anyone may assume is not a role"
    );
}

#[test]
fn session_duration_is_bounded() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let props = RoleProps { max_session_duration_seconds: Some(60), ..RoleProps::default() };
    let e = Role::new(&mut stack.root(), "Short", Principal::AccountRoot, props).unwrap_err();
    assert_eq!(e.to_string(), "Short: max session duration (s) 60 is out of range: allowed 3600 to 43200");
}

#[test]
fn a_grant_from_another_stack_fails_synth() {
    let mut app = App::new("t");
    let mut a = Stack::new(StackProps::new("A", "t-a", "eu-west-1", "dev"));
    let role =
        Role::new(&mut a.root(), "Worker", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
    let mut b = Stack::new(StackProps::new("B", "t-b", "eu-west-1", "dev"));
    role.add_to_policy(&mut b.root(), PolicyStatement::allow(["sqs:SendMessage"], [Val::from("arn:q")]));
    app.add_stack(a);
    app.add_stack(b);
    let e = app.synth().unwrap_err();
    assert_eq!(
        e.messages(),
        [
            "error: B/Worker: grant to role Worker of stack A made from stack B: make grants with a scope of the role's stack"
        ]
    );
}
