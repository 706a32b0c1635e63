//! Classification of resources for the refusal and approval rules: which types hold state, and which changes
//! broaden access (IAM statements, security-group rules, resource policies, invoke permissions).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// Whether a resource type holds data that its replacement or deletion loses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statefulness {
    /// Always: items, objects, key material, logs, secrets, indexes, cached data.
    Always,
    /// Only while it holds something (a queue with messages): deploy asks the service before refusing.
    WhenNotEmpty,
}

/// Stateful types: replacing or deleting one loses data (a KMS key's deletion makes everything encrypted with it
/// unreadable). Queues count only when they hold messages.
const ALWAYS: &[&str] = &[
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::EFS::FileSystem",
    "AWS::Kinesis::Stream",
    "AWS::Cognito::UserPool",
];

/// Whether `type_name` holds state, and when.
pub fn statefulness(type_name: &str) -> Option<Statefulness> {
    if ALWAYS.contains(&type_name) {
        Some(Statefulness::Always)
    } else if type_name == "AWS::SQS::Queue" {
        Some(Statefulness::WhenNotEmpty)
    } else {
        None
    }
}

/// What a change of one resource opens, one line each: `Allow` statements that are new (in any policy document
/// of the resource: IAM roles and policies, key, bucket, queue, topic and API policies, assume-role documents),
/// new security-group rules, and new invoke permissions. Removals and narrowing are not broadening.
pub fn broadening(type_name: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<String> {
    let Some(new) = new else { return Vec::new() };
    let mut out = Vec::new();
    let (mut old_stmts, mut new_stmts) = (BTreeSet::new(), Vec::new());
    if let Some(o) = old {
        allow_statements(o, &mut |s| {
            old_stmts.insert(s.to_string());
        });
    }
    allow_statements(new, &mut |s| new_stmts.push(s.clone()));
    for s in new_stmts.iter().filter(|s| !old_stmts.contains(&s.to_string())) {
        out.push(describe_statement(s));
    }
    match type_name {
        "AWS::EC2::SecurityGroup" => {
            for key in ["SecurityGroupIngress", "SecurityGroupEgress"] {
                let rules = |r: Option<&Value>| -> Vec<Value> {
                    r.and_then(|r| r.pointer(&format!("/Properties/{key}")))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                };
                let before = rules(old);
                for rule in rules(Some(new)).iter().filter(|r| !before.contains(r)) {
                    out.push(describe_rule(if key == "SecurityGroupIngress" { "ingress" } else { "egress" }, rule));
                }
            }
        }
        "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" if old != Some(new) => {
            let dir = if type_name.ends_with("Ingress") { "ingress" } else { "egress" };
            out.push(describe_rule(dir, new.get("Properties").unwrap_or(&Value::Null)));
        }
        "AWS::Lambda::Permission" if old != Some(new) => {
            let p = new.get("Properties").unwrap_or(&Value::Null);
            out.push(format!(
                "invoke permission {} for {}{}",
                short(p.get("Action").unwrap_or(&Value::Null)),
                short(p.get("Principal").unwrap_or(&Value::Null)),
                p.get("SourceArn").map(|a| format!(" from {}", short(a))).unwrap_or_default()
            ));
        }
        _ => {}
    }
    out
}

/// Calls `f` on every object of `v` that is an `Allow` statement.
fn allow_statements(v: &Value, f: &mut dyn FnMut(&Value)) {
    match v {
        Value::Object(m) => {
            if m.get("Effect").and_then(Value::as_str) == Some("Allow") {
                f(v);
                return;
            }
            m.values().for_each(|x| allow_statements(x, f));
        }
        Value::Array(a) => a.iter().for_each(|x| allow_statements(x, f)),
        _ => {}
    }
}

fn describe_statement(s: &Value) -> String {
    let field = |k: &str| s.get(k).map(short);
    let mut line = format!(
        "allow {}",
        field("Action").or_else(|| field("NotAction").map(|a| format!("all but {a}"))).unwrap_or_default()
    );
    if let Some(r) = field("Resource") {
        line.push_str(&format!(" on {r}"));
    }
    if let Some(p) = field("Principal") {
        line.push_str(&format!(" to {p}"));
    }
    if s.get("Condition").is_some() {
        line.push_str(" (with condition)");
    }
    line
}

fn describe_rule(dir: &str, r: &Value) -> String {
    let field = |k: &str| r.get(k).map(short);
    let ports = match (field("FromPort"), field("ToPort")) {
        (Some(a), Some(b)) if a == b => format!(" {a}"),
        (Some(a), Some(b)) => format!(" {a}-{b}"),
        _ => String::new(),
    };
    let peer = ["CidrIp", "CidrIpv6", "SourceSecurityGroupId", "DestinationSecurityGroupId", "SourcePrefixListId"]
        .iter()
        .find_map(|k| field(k))
        .unwrap_or_else(|| "?".into());
    let prep = if dir == "ingress" { "from" } else { "to" };
    format!("{dir} {}{ports} {prep} {peer}", field("IpProtocol").unwrap_or_default())
}

/// A compact rendering: strings without quotes, everything else as JSON, cut at 100 characters.
fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 100 { format!("{}...", s.chars().take(97).collect::<String>()) } else { s }
}
