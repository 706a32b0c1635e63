//! The rule pack's IAM rules: cdk-nag `AwsSolutions-IAM4` and `IAM5` (a wildcard resource only with a reason
//! declared in the role's metadata, see [`crate::iam::PolicyStatement::any_resource`]).

use synth::{DocResource, Node};

use super::WILDCARD_METADATA_KEY;
use crate::rules::{declare_rules, items, prop, require, str_of};

const ROLE: &str = "AWS::IAM::Role";

/// The actions a resource declares a reason for using on `"*"`.
fn wildcard_reasons(r: &DocResource) -> Vec<String> {
    items(r.metadata.get(WILDCARD_METADATA_KEY))
        .into_iter()
        .filter(|e| str_of(e.get("reason")).is_some_and(|s| !s.trim().is_empty()))
        .flat_map(|e| items(e.get("actions")).into_iter().filter_map(|a| a.as_str().map(str::to_owned)))
        .collect()
}

declare_rules! {
    Iam4 {
        id: "AwsSolutions-IAM4",
        description: "Roles use no AWS managed policies",
        applies_to: [ROLE],
        check: |_, r| {
            let managed = items(prop(r, "ManagedPolicyArns"))
                .iter()
                .any(|p| p.to_json().to_string().contains(":iam::aws:policy/"));
            require(!managed, "the role uses an AWS managed policy (broader than any one function needs)")
        },
    }
    Iam5 {
        id: "AwsSolutions-IAM5",
        description: "IAM policies use no wildcard without a declared reason",
        applies_to: [ROLE, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"],
        check: |_, r| {
            let documents: Vec<&Node> = if r.type_name == ROLE {
                items(prop(r, "Policies")).iter().filter_map(|p| p.get("PolicyDocument")).collect()
            } else {
                prop(r, "PolicyDocument").into_iter().collect()
            };
            let reasons = wildcard_reasons(r);
            for d in documents {
                for s in items(d.get("Statement")) {
                    if str_of(s.get("Effect")) != Some("Allow") {
                        continue;
                    }
                    let actions: Vec<&str> = items(s.get("Action")).iter().filter_map(|a| a.as_str()).collect();
                    if let Some(a) = actions.iter().find(|a| a.contains('*')) {
                        return Some(format!("action {a:?} is a wildcard"));
                    }
                    let star = items(s.get("Resource")).iter().any(|x| x.as_str() == Some("*"));
                    if star && let Some(a) = actions.iter().find(|a| !reasons.iter().any(|x| x == *a)) {
                        return Some(format!(
                            "action {a:?} on resource \"*\" has no reason in Metadata.{WILDCARD_METADATA_KEY}"
                        ));
                    }
                }
            }
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::ROLE;
    use crate::rules::testing::rule_tests;

    /// A role with one inline policy of one `statement`.
    fn role(statement: Value) -> Value {
        json!({
            "AssumeRolePolicyDocument": {},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]
        })
    }

    rule_tests! {
        iam4_roles_use_no_aws_managed_policies: Iam4 {
            flags [("Bad", ROLE, json!({
                "AssumeRolePolicyDocument": {},
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]
            }))] => "the role uses an AWS managed policy (broader than any one function needs)";
            passes [("Good", ROLE, json!({
                "AssumeRolePolicyDocument": {},
                "ManagedPolicyArns": ["arn:aws:iam::123456789012:policy/own"]
            }))];
        }
        iam5_no_wildcard_without_a_reason: Iam5 {
            flags [("Bad", ROLE, role(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"})))]
                => "action \"s3:*\" is a wildcard";
            flags [("Bad", ROLE, role(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})))]
                => "action \"s3:GetObject\" on resource \"*\" has no reason in Metadata.rcdk:iam-wildcards";
            passes [("Good", ROLE, role(json!({
                "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"
            })))];
            passes [("Good", ROLE, role(json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})))];
        }
    }
}
