//! Adapting a template to a target whose CloudFormation does not create some resource types (moto 5.2.5: it
//! skips them, and answers 500 to any template reading one, deploy/MOTO.md), without hiding anything: every
//! resource of such a type is removed, every reference to it reads a deterministic placeholder that names it, and
//! each one is listed as a [`Substitution`] the CLI prints before deploying.
//!
//! Pure: no SDK, no IO. The engine calls [`adapt`] with [`Capabilities::unsupported_types`] (empty for AWS, where
//! it changes nothing).
//!
//! What is rewritten, everywhere in the template (resources left, outputs, metadata):
//! - `{"Ref": X}` → the placeholder of what `Ref` returns for X's type (an id, a name or an ARN, [`RETURNS`]);
//! - `{"Fn::GetAtt": [X, A]}` and `{"Fn::GetAtt": "X.A"}` → the placeholder of attribute A;
//! - `${X}` and `${X.A}` inside `Fn::Sub` strings (string form, and list form unless the variable map defines
//!   the name), `${!X}` being a literal;
//! - X in `DependsOn` (string or list; the key goes when nothing is left).
//!
//! Outputs reading a removed resource are kept with the placeholder as value (a consumer stack reads it through
//! `Fn::GetStackOutput` and gets the same placeholder); conditions cannot name resources, so none breaks. A
//! removed resource's own properties are not rewritten: it is gone. Intrinsics of unexpected shapes (a
//! `Fn::GetAtt` whose attribute is itself an intrinsic, a `Ref` to a non-string) are left as written.
//!
//! [`Capabilities::unsupported_types`]: crate::engine::Capabilities::unsupported_types

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// The resource types moto 5.2.5's CloudFormation does not create: the "skipped" rows of deploy/MOTO.md (the
/// stack completes, the resource is not in it, and a template reading it gets a 500). Types MOTO.md could not
/// judge alone ("needs its dependencies", the inconclusive `AWS::KMS::Alias`) are created by moto when their
/// dependencies exist, so they are not here.
///
/// One "skipped" row is not here: `AWS::Events::EventBus`. moto 5.2.5 registers it for CloudFormation
/// (`moto/events/models.py`) and, measured again on the `dev` template's bus (name, description, KMS key from the
/// same stack), creates it and answers `GetAtt Arn`; the probe's isolated stack failed on its placeholders. Left
/// out, it breaks the `AWS::Events::Archive` and rules created on it ("Event bus platform-dev-events does not
/// exist").
pub const MOTO_UNSUPPORTED_TYPES: &[&str] = &[
    // skipped; GetAtt: 500
    "AWS::ApiGateway::Account",
    // skipped; GetAtt: 500
    "AWS::ApiGateway::ApiKey",
    // skipped; GetAtt: 500
    "AWS::ApiGateway::Authorizer",
    // skipped; GetAtt: 500
    "AWS::ApiGateway::Model",
    // skipped; GetAtt: 500
    "AWS::ApiGateway::RequestValidator",
    // skipped; GetAtt: 500
    "AWS::ApiGateway::Stage",
    // skipped; GetAtt: 500
    "AWS::ApiGateway::UsagePlan",
    // skipped; GetAtt: 500
    "AWS::ApiGateway::UsagePlanKey",
    // skipped; GetAtt: 500
    "AWS::Chatbot::SlackChannelConfiguration",
    // skipped; GetAtt: 500
    "AWS::CloudFront::CachePolicy",
    // skipped; GetAtt: 500
    "AWS::CloudFront::Distribution",
    // skipped; GetAtt: 500
    "AWS::CloudFront::OriginAccessControl",
    // skipped; GetAtt: 500
    "AWS::CloudFront::OriginRequestPolicy",
    // skipped; GetAtt: 500
    "AWS::CloudFront::ResponseHeadersPolicy",
    // skipped; GetAtt: 500
    "AWS::CloudWatch::Alarm",
    // skipped; GetAtt: 500
    "AWS::CloudWatch::CompositeAlarm",
    // skipped; GetAtt: 500
    "AWS::CloudWatch::InsightRule",
    // skipped (moto's CloudFormation knows no CodeDeploy type)
    "AWS::CodeDeploy::Application",
    // skipped (moto's CloudFormation knows no CodeDeploy type)
    "AWS::CodeDeploy::DeploymentGroup",
    // skipped; GetAtt: 500
    "AWS::S3::BucketPolicy",
    // skipped; GetAtt: 500
    "AWS::SNS::TopicPolicy",
    // skipped; GetAtt: 500
    "AWS::SQS::QueuePolicy",
    // skipped; GetAtt: 500
    "AWS::SecretsManager::Secret",
    // skipped; GetAtt: 500
    "AWS::WAFv2::LoggingConfiguration",
    // skipped; GetAtt: 500
    "AWS::WAFv2::WebACL",
    // skipped; GetAtt: 500
    "AWS::WAFv2::WebACLAssociation",
];

/// What `Ref` and each `Fn::GetAtt` attribute of a type return, as placeholder patterns: `{id}` is the logical
/// id, `{partition}`, `{region}`, `{account}` the stack's, `{scope}` a WAF web ACL's `Scope` (`REGIONAL` unless
/// the template says `CLOUDFRONT`) and `{waf_scope}` its ARN form (`regional` or `global`). The shapes (id, name
/// or ARN) are the "Return values" sections of the CloudFormation template reference
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html>);
/// the attribute names are the generated schemas' (a test checks they agree).
pub struct Returns {
    pub type_name: &'static str,
    /// What `Ref` returns.
    pub reference: &'static str,
    /// `Fn::GetAtt` attribute → what it returns.
    pub attributes: &'static [(&'static str, &'static str)],
}

/// An ARN in `service`; `resource` is its part after the account.
macro_rules! arn {
    ($service:literal, $resource:literal) => {
        concat!("arn:{partition}:", $service, ":{region}:{account}:", $resource)
    };
}

const SECRET_ARN: &str = arn!("secretsmanager", "secret:{id}");
const WEB_ACL_ARN: &str = arn!("wafv2", "{waf_scope}/webacl/{id}/{id}");
/// Timestamps (`LastModifiedTime` of CloudFront policies) read as the epoch: deterministic and obviously fake.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// The per-type table, one row per type of [`MOTO_UNSUPPORTED_TYPES`]. A type missing here (another target's
/// list) gets `{id}` for `Ref` and `{id}.{attribute}` for `Fn::GetAtt`.
pub const RETURNS: &[Returns] = &[
    // Ref: "the ID of the resource"; GetAtt Id: "the ID for the account".
    Returns { type_name: "AWS::ApiGateway::Account", reference: "{id}", attributes: &[("Id", "{id}")] },
    // Ref: "the API key ID".
    Returns { type_name: "AWS::ApiGateway::ApiKey", reference: "{id}", attributes: &[("APIKeyId", "{id}")] },
    // Ref: "the authorizer's ID".
    Returns { type_name: "AWS::ApiGateway::Authorizer", reference: "{id}", attributes: &[("AuthorizerId", "{id}")] },
    // Ref: "the model name"; no attributes.
    Returns { type_name: "AWS::ApiGateway::Model", reference: "{id}", attributes: &[] },
    // Ref: "the ID of the request validator".
    Returns {
        type_name: "AWS::ApiGateway::RequestValidator",
        reference: "{id}",
        attributes: &[("RequestValidatorId", "{id}")],
    },
    // Ref: "the name of the stage"; no attributes.
    Returns { type_name: "AWS::ApiGateway::Stage", reference: "{id}", attributes: &[] },
    // Ref: "the usage plan ID".
    Returns { type_name: "AWS::ApiGateway::UsagePlan", reference: "{id}", attributes: &[("Id", "{id}")] },
    // Ref: "the ID of the key and ID of the usage plan combined with a `:`".
    Returns { type_name: "AWS::ApiGateway::UsagePlanKey", reference: "{id}:{id}", attributes: &[("Id", "{id}")] },
    // Ref: the configuration's ARN (primary identifier `Arn`), `arn:aws:chatbot::<account>:chat-configuration/
    // slack-channel/<name>`: Chatbot is global, its ARNs have no region.
    Returns {
        type_name: "AWS::Chatbot::SlackChannelConfiguration",
        reference: "arn:{partition}:chatbot::{account}:chat-configuration/slack-channel/{id}",
        attributes: &[("Arn", "arn:{partition}:chatbot::{account}:chat-configuration/slack-channel/{id}")],
    },
    // Ref: "the cache policy ID".
    Returns {
        type_name: "AWS::CloudFront::CachePolicy",
        reference: "{id}",
        attributes: &[("Id", "{id}"), ("LastModifiedTime", EPOCH)],
    },
    // Ref: "the CloudFront distribution ID"; DomainName is `d111111abcdef8.cloudfront.net` on AWS.
    Returns {
        type_name: "AWS::CloudFront::Distribution",
        reference: "{id}",
        attributes: &[("DomainName", "{id}.local"), ("Id", "{id}")],
    },
    // Ref: the origin access control's ID (the schema's primary identifier; the page leaves it blank).
    Returns { type_name: "AWS::CloudFront::OriginAccessControl", reference: "{id}", attributes: &[("Id", "{id}")] },
    // Ref: "the origin request policy ID".
    Returns {
        type_name: "AWS::CloudFront::OriginRequestPolicy",
        reference: "{id}",
        attributes: &[("Id", "{id}"), ("LastModifiedTime", EPOCH)],
    },
    // Ref: "the response headers policy ID".
    Returns {
        type_name: "AWS::CloudFront::ResponseHeadersPolicy",
        reference: "{id}",
        attributes: &[("Id", "{id}"), ("LastModifiedTime", EPOCH)],
    },
    // Ref: "the alarm name"; Arn `arn:aws:cloudwatch:us-west-2:123456789012:alarm:myCloudWatchAlarm-...`.
    Returns {
        type_name: "AWS::CloudWatch::Alarm",
        reference: "{id}",
        attributes: &[("Arn", arn!("cloudwatch", "alarm:{id}"))],
    },
    // Ref: "the alarm name"; Arn `arn:aws:cloudwatch:<region>:<account>:alarm:<name>`.
    Returns {
        type_name: "AWS::CloudWatch::CompositeAlarm",
        reference: "{id}",
        attributes: &[("Arn", arn!("cloudwatch", "alarm:{id}"))],
    },
    // Ref: the rule's ARN (the schema's primary identifier `Arn`); Arn
    // `arn:aws:cloudwatch:<region>:<account>:insight-rule/<name>`.
    Returns {
        type_name: "AWS::CloudWatch::InsightRule",
        reference: arn!("cloudwatch", "insight-rule/{id}"),
        attributes: &[("Arn", arn!("cloudwatch", "insight-rule/{id}"))],
    },
    // Ref: "the name of the application"; no attributes.
    Returns { type_name: "AWS::CodeDeploy::Application", reference: "{id}", attributes: &[] },
    // Ref: "the name of the deployment group"; no attributes.
    Returns { type_name: "AWS::CodeDeploy::DeploymentGroup", reference: "{id}", attributes: &[] },
    // Ref: the bucket's name (the schema's primary identifier `Bucket`; the page says nothing); no attributes.
    Returns { type_name: "AWS::S3::BucketPolicy", reference: "{id}", attributes: &[] },
    // Ref: the policy's ID (primary identifier `Id`; the page documents only GetAtt Id).
    Returns { type_name: "AWS::SNS::TopicPolicy", reference: "{id}", attributes: &[("Id", "{id}")] },
    // Ref: the policy's ID (primary identifier `Id`; the page documents only GetAtt Id).
    Returns { type_name: "AWS::SQS::QueuePolicy", reference: "{id}", attributes: &[("Id", "{id}")] },
    // Ref: "the ARN of the secret" (`arn:aws:secretsmanager:us-west-2:123456789012:secret:my-path/my-secret-name-
    // 1a2b3c`); GetAtt Id: "the ARN of the secret".
    Returns { type_name: "AWS::SecretsManager::Secret", reference: SECRET_ARN, attributes: &[("Id", SECRET_ARN)] },
    // Ref: "the Amazon Resource Name (ARN) of the web ACL" it logs; ManagedByFirewallManager is a boolean.
    Returns {
        type_name: "AWS::WAFv2::LoggingConfiguration",
        reference: WEB_ACL_ARN,
        attributes: &[("ManagedByFirewallManager", "false")],
    },
    // Ref: `name|id|scope`; Arn `arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>` (`global` for
    // CLOUDFRONT); Capacity is the WCUs in use (a number); LabelNamespace `awswaf:<account>:webacl:<name>:`.
    Returns {
        type_name: "AWS::WAFv2::WebACL",
        reference: "{id}|{id}|{scope}",
        attributes: &[
            ("Arn", WEB_ACL_ARN),
            ("Capacity", "0"),
            ("Id", "{id}"),
            ("LabelNamespace", "awswaf:{account}:webacl:{id}:"),
        ],
    },
    // Ref: the page repeats the web ACL's text; the schema's primary identifier is `ResourceArn|WebACLArn`. Nothing
    // can usefully read an association: the logical id.
    Returns { type_name: "AWS::WAFv2::WebACLAssociation", reference: "{id}", attributes: &[] },
];

/// Where the stack is deployed: the values placeholders' ARNs hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub region: String,
    pub account: String,
    pub partition: String,
}

impl Placement {
    /// `region` and `account`, the partition taken from the region.
    pub fn new(region: &str, account: &str) -> Placement {
        Placement { region: region.to_owned(), account: account.to_owned(), partition: partition(region).to_owned() }
    }
}

/// The partition of a region (<https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html>).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// A resource left out of the template, and what references to it read instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Substitution {
    pub logical_id: String,
    pub resource_type: String,
    /// What each kind of reference read, `Ref = x` / `GetAtt A = y`, comma-separated in a stable order; empty
    /// when nothing reads the resource.
    pub replaced_by: String,
}

impl fmt::Display for Substitution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): not created by the local cloud; ", self.logical_id, self.resource_type)?;
        if self.replaced_by.is_empty() {
            f.write_str("nothing reads it")
        } else {
            write!(f, "references read {}", self.replaced_by)
        }
    }
}

/// The template for the target, and the resources left out of it (by logical id).
#[derive(Clone, Debug, PartialEq)]
pub struct Adapted {
    pub template: Value,
    pub substitutions: Vec<Substitution>,
}

/// Removes every resource of a type in `unsupported` from `template` and rewrites every reference to one (module
/// documentation). With nothing to remove, the template is returned as it came.
pub fn adapt(mut template: Value, at: &Placement, unsupported: &[&str]) -> Adapted {
    if !unsupported.is_empty() {
        literal_bus_names(&mut template);
        archive_names(&mut template);
    }
    let mut removed: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) {
        // `retain`, not `remove`: the order of what is left stays as written.
        resources.retain(|id, r| {
            let skipped = r.get("Type").and_then(Value::as_str).is_some_and(|t| unsupported.contains(&t));
            if skipped {
                removed.insert(id.clone(), r.clone());
            }
            !skipped
        });
    }
    if removed.is_empty() {
        return Adapted { template, substitutions: Vec::new() };
    }
    let mut rewriter = Rewriter { removed: &removed, at, reads: BTreeMap::new() };
    rewriter.rewrite(&mut template);
    if let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) {
        for r in resources.values_mut() {
            drop_depends_on(r, &removed);
        }
    }
    let substitutions = removed
        .iter()
        .map(|(id, r)| Substitution {
            logical_id: id.clone(),
            resource_type: type_of(r).to_owned(),
            replaced_by: rewriter
                .reads
                .get(id)
                .map(|reads| reads.iter().map(|(what, value)| format!("{what} = {value}")).collect::<Vec<_>>())
                .unwrap_or_default()
                .join(", "),
        })
        .collect();
    Adapted { template, substitutions }
}

/// moto 5.2.5 resolves a `Ref` to an `AWS::Events::EventBus` to its model object, not the bus name (a rule naming
/// its bus by `Ref` fails with `'EventBus' object has no attribute 'split'`). On such a target the reference
/// becomes the bus's literal `Name` (what AWS resolves the `Ref` to) and the resource that held it depends on the
/// bus explicitly, so the order the `Ref` gave is kept (with the name alone, moto may create the rule first).
fn literal_bus_names(template: &mut Value) {
    let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) else { return };
    let names: BTreeMap<String, String> = resources
        .iter()
        .filter(|(_, r)| type_of(r) == "AWS::Events::EventBus")
        .filter_map(|(id, r)| Some((id.clone(), r.pointer("/Properties/Name")?.as_str()?.to_owned())))
        .collect();
    if names.is_empty() {
        return;
    }
    for resource in resources.values_mut() {
        let mut used = BTreeSet::new();
        if let Some(props) = resource.get_mut("Properties") {
            replace_bus_refs(props, &names, &mut used);
        }
        if used.is_empty() {
            continue;
        }
        let Some(r) = resource.as_object_mut() else { continue };
        let mut depends: Vec<Value> = match r.remove("DependsOn") {
            Some(Value::Array(a)) => a,
            Some(Value::String(s)) => vec![Value::String(s)],
            _ => Vec::new(),
        };
        for id in used {
            if !depends.iter().any(|d| d.as_str() == Some(id.as_str())) {
                depends.push(Value::String(id));
            }
        }
        r.insert("DependsOn".into(), Value::Array(depends));
    }
}

/// moto 5.2.5 names an `AWS::Events::Archive` without `ArchiveName` `<stack>-<logical id>-<suffix>`, then
/// refuses that name when it is over 48 characters (its own `archiveName` constraint). On such a target an archive
/// without a name is named after its logical id (at most 48 characters); AWS names it itself.
fn archive_names(template: &mut Value) {
    let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) else { return };
    for (id, r) in resources.iter_mut() {
        if type_of(r) != "AWS::Events::Archive" {
            continue;
        }
        let Some(props) = r.get_mut("Properties").and_then(Value::as_object_mut) else { continue };
        if !props.contains_key("ArchiveName") {
            props.insert("ArchiveName".into(), Value::String(id.chars().take(48).collect()));
        }
    }
}

fn replace_bus_refs(v: &mut Value, names: &BTreeMap<String, String>, used: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if m.len() == 1
                && let Some(Value::String(id)) = m.get("Ref")
                && let Some(name) = names.get(id)
            {
                used.insert(id.clone());
                *v = Value::String(name.clone());
                return;
            }
            m.values_mut().for_each(|x| replace_bus_refs(x, names, used));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_bus_refs(x, names, used)),
        _ => {}
    }
}

fn type_of(resource: &Value) -> &str {
    resource.get("Type").and_then(Value::as_str).unwrap_or_default()
}

/// The placeholder of `Ref` (`attribute` `None`) or `Fn::GetAtt` of the removed `resource` named `id`.
fn placeholder(id: &str, resource: &Value, attribute: Option<&str>, at: &Placement) -> String {
    let row = RETURNS.iter().find(|r| r.type_name == type_of(resource));
    let pattern = match (row, attribute) {
        (Some(row), None) => row.reference,
        (None, None) => "{id}",
        (row, Some(a)) => match row.and_then(|row| row.attributes.iter().find(|(name, _)| *name == a)) {
            Some((_, pattern)) => pattern,
            // An attribute the table does not know (CloudFormation would reject it on AWS): still a value that
            // says where it comes from.
            None => return format!("{id}.{a}"),
        },
    };
    let scope = match resource.pointer("/Properties/Scope").and_then(Value::as_str) {
        Some("CLOUDFRONT") => "CLOUDFRONT",
        _ => "REGIONAL",
    };
    pattern
        .replace("{partition}", &at.partition)
        .replace("{region}", &at.region)
        .replace("{account}", &at.account)
        .replace("{waf_scope}", if scope == "CLOUDFRONT" { "global" } else { "regional" })
        .replace("{scope}", scope)
        .replace("{id}", id)
}

struct Rewriter<'a> {
    removed: &'a BTreeMap<String, Value>,
    at: &'a Placement,
    /// Removed logical id → (what read it, the placeholder it read).
    reads: BTreeMap<String, BTreeSet<(String, String)>>,
}

impl Rewriter<'_> {
    /// The placeholder for a reference to `id`, recorded; `None` when `id` is not removed.
    fn read(&mut self, id: &str, attribute: Option<&str>) -> Option<String> {
        let resource = self.removed.get(id)?;
        let value = placeholder(id, resource, attribute, self.at);
        let what = attribute.map_or_else(|| "Ref".to_owned(), |a| format!("GetAtt {a}"));
        self.reads.entry(id.to_owned()).or_default().insert((what, value.clone()));
        Some(value)
    }

    fn rewrite(&mut self, v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.len() == 1 {
                    if let Some(value) = self.intrinsic(m) {
                        *v = Value::String(value);
                        return;
                    }
                    if let Some(args) = m.get_mut("Fn::Sub") {
                        self.sub(args);
                    }
                }
                m.values_mut().for_each(|x| self.rewrite(x));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.rewrite(x)),
            _ => {}
        }
    }

    /// The placeholder replacing a one-key object that is a `Ref` or `Fn::GetAtt` of a removed resource.
    fn intrinsic(&mut self, m: &Map<String, Value>) -> Option<String> {
        if let Some(Value::String(id)) = m.get("Ref") {
            return self.read(id, None);
        }
        match m.get("Fn::GetAtt")? {
            Value::Array(a) => match a.as_slice() {
                [Value::String(id), Value::String(attribute)] => self.read(id, Some(attribute)),
                _ => None,
            },
            // `X.A`; attributes may hold dots themselves (`Endpoint.Address`), logical ids never do.
            Value::String(s) => {
                let (id, attribute) = s.split_once('.')?;
                self.read(id, Some(attribute))
            }
            _ => None,
        }
    }

    /// Rewrites `${X}` and `${X.A}` of removed resources in a `Fn::Sub` (string, or `[string, variables]` where a
    /// variable of the same name wins).
    fn sub(&mut self, args: &mut Value) {
        let (text, variables) = match args {
            Value::String(s) => (s, None),
            Value::Array(a) => match a.as_mut_slice() {
                [Value::String(s), Value::Object(vars)] => (s, Some(&*vars)),
                [Value::String(s)] => (s, None),
                _ => return,
            },
            _ => return,
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            let defined = variables.is_some_and(|v| v.contains_key(name));
            let value = if name.starts_with('!') || defined {
                None
            } else {
                match name.split_once('.') {
                    Some((id, attribute)) => self.read(id, Some(attribute)),
                    None => self.read(name, None),
                }
            };
            match value {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[start..start + 2 + end + 1]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        *text = out;
    }
}

/// Removes removed logical ids from a resource's `DependsOn`; the key goes when nothing is left.
fn drop_depends_on(resource: &mut Value, removed: &BTreeMap<String, Value>) {
    let Some(r) = resource.as_object_mut() else { return };
    let empty = match r.get_mut("DependsOn") {
        Some(Value::String(id)) => removed.contains_key(id.as_str()),
        Some(Value::Array(ids)) => {
            ids.retain(|id| id.as_str().is_none_or(|id| !removed.contains_key(id)));
            ids.is_empty()
        }
        _ => false,
    };
    if empty {
        r.remove("DependsOn");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> Placement {
        Placement::new("eu-west-1", "123456789012")
    }

    /// Adapts `input` for moto and checks the template; returns the substitution lines.
    fn check(input: Value, expected: Value) -> Vec<String> {
        let adapted = adapt(input, &at(), MOTO_UNSUPPORTED_TYPES);
        assert_eq!(adapted.template, expected, "{:#}", adapted.template);
        adapted.substitutions.iter().map(ToString::to_string).collect()
    }

    fn secret() -> Value {
        json!({"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "s"}})
    }

    const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:Key";

    #[test]
    fn a_template_without_unsupported_types_is_unchanged() {
        let t = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "F": {"Type": "AWS::Lambda::Function",
            "Properties": {"Q": {"Ref": "Q"}}}}, "Outputs": {"O": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}}}});
        assert!(check(t.clone(), t).is_empty());
    }

    #[test]
    fn nothing_is_removed_for_aws() {
        let t = json!({"Resources": {"Key": secret()}});
        assert_eq!(adapt(t.clone(), &at(), &[]), Adapted { template: t, substitutions: Vec::new() });
    }

    #[test]
    fn a_ref_reads_what_ref_returns_for_the_type() {
        let lines = check(
            json!({"Resources": {"Key": secret(), "F": {"Type": "AWS::Lambda::Function",
                "Properties": {"Environment": {"Variables": {"KEY": {"Ref": "Key"}}}}}}}),
            json!({"Resources": {"F": {"Type": "AWS::Lambda::Function",
                "Properties": {"Environment": {"Variables": {"KEY": SECRET}}}}}}),
        );
        assert_eq!(
            lines,
            [format!(
                "Key (AWS::SecretsManager::Secret): not created by the local cloud; references read Ref = {SECRET}"
            )]
        );
    }

    #[test]
    fn get_att_reads_the_attribute_in_both_forms() {
        let lines = check(
            json!({"Resources": {"Cdn": {"Type": "AWS::CloudFront::Distribution"}},
                "Outputs": {"A": {"Value": {"Fn::GetAtt": ["Cdn", "DomainName"]}},
                    "B": {"Value": {"Fn::GetAtt": "Cdn.Id"}}}}),
            json!({"Resources": {}, "Outputs": {"A": {"Value": "Cdn.local"}, "B": {"Value": "Cdn"}}}),
        );
        assert_eq!(
            lines,
            ["Cdn (AWS::CloudFront::Distribution): not created by the local cloud; references read GetAtt DomainName \
              = Cdn.local, GetAtt Id = Cdn"]
        );
    }

    #[test]
    fn arns_name_partition_region_account_and_logical_id() {
        let t = json!({"Resources": {"Alarm": {"Type": "AWS::CloudWatch::Alarm"}, "Key": secret()},
            "Outputs": {"A": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}}, "B": {"Value": {"Fn::GetAtt": ["Key", "Id"]}},
                "C": {"Value": {"Ref": "Alarm"}}}});
        let adapted = adapt(t, &Placement::new("cn-north-1", "1"), MOTO_UNSUPPORTED_TYPES);
        assert_eq!(
            adapted.template["Outputs"],
            json!({"A": {"Value": "arn:aws-cn:cloudwatch:cn-north-1:1:alarm:Alarm"},
                "B": {"Value": "arn:aws-cn:secretsmanager:cn-north-1:1:secret:Key"}, "C": {"Value": "Alarm"}})
        );
    }

    #[test]
    fn web_acl_placeholders_follow_its_scope() {
        let acl = |scope: &str| json!({"Type": "AWS::WAFv2::WebACL", "Properties": {"Scope": scope}});
        let read = json!({"R": {"Value": {"Ref": "Acl"}}, "A": {"Value": {"Fn::GetAtt": ["Acl", "Arn"]}},
            "L": {"Value": {"Fn::GetAtt": ["Acl", "LabelNamespace"]}}});
        check(
            json!({"Resources": {"Acl": acl("REGIONAL")}, "Outputs": read}),
            json!({"Resources": {}, "Outputs": {"R": {"Value": "Acl|Acl|REGIONAL"},
                "A": {"Value": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/Acl/Acl"},
                "L": {"Value": "awswaf:123456789012:webacl:Acl:"}}}),
        );
        check(
            json!({"Resources": {"Acl": acl("CLOUDFRONT")}, "Outputs": read}),
            json!({"Resources": {}, "Outputs": {"R": {"Value": "Acl|Acl|CLOUDFRONT"},
                "A": {"Value": "arn:aws:wafv2:eu-west-1:123456789012:global/webacl/Acl/Acl"},
                "L": {"Value": "awswaf:123456789012:webacl:Acl:"}}}),
        );
    }

    #[test]
    fn sub_strings_are_rewritten_in_the_string_form() {
        check(
            json!({"Resources": {"Key": secret(), "Cdn": {"Type": "AWS::CloudFront::Distribution"}},
                "Outputs": {"U": {"Value": {"Fn::Sub": "https://${Cdn.DomainName}/x?k=${Key}&r=${AWS::Region}"}}}}),
            json!({"Resources": {}, "Outputs": {"U": {"Value": {"Fn::Sub":
                format!("https://Cdn.local/x?k={SECRET}&r=${{AWS::Region}}")}}}}),
        );
    }

    #[test]
    fn sub_variables_shadow_resources_and_are_rewritten_themselves() {
        check(
            json!({"Resources": {"Key": secret()}, "Outputs": {"U": {"Value": {"Fn::Sub": [
                "${Key}/${K}/${!Key}", {"Key": "mine", "K": {"Ref": "Key"}}]}}}}),
            json!({"Resources": {}, "Outputs": {"U": {"Value": {"Fn::Sub": [
                "${Key}/${K}/${!Key}", {"Key": "mine", "K": SECRET}]}}}}),
        );
        check(
            json!({"Resources": {"Key": secret()}, "Outputs": {"U": {"Value": {"Fn::Sub": ["${Key}", {}]}}}}),
            json!({"Resources": {}, "Outputs": {"U": {"Value": {"Fn::Sub": [SECRET, {}]}}}}),
        );
    }

    #[test]
    fn sub_literals_and_unclosed_variables_stay() {
        let t = json!({"Resources": {"Key": secret()}, "Outputs": {"U": {"Value": {"Fn::Sub": "${!Key} ${Key"}}}});
        let lines = check(t, json!({"Resources": {}, "Outputs": {"U": {"Value": {"Fn::Sub": "${!Key} ${Key"}}}}));
        assert_eq!(lines, ["Key (AWS::SecretsManager::Secret): not created by the local cloud; nothing reads it"]);
    }

    #[test]
    fn depends_on_loses_removed_ids_string_or_list() {
        check(
            json!({"Resources": {"Key": secret(), "Alarm": {"Type": "AWS::CloudWatch::Alarm"},
                "Q": {"Type": "AWS::SQS::Queue"},
                "A": {"Type": "AWS::SQS::Queue", "DependsOn": "Key"},
                "B": {"Type": "AWS::SQS::Queue", "DependsOn": ["Key", "Q", "Alarm"]},
                "C": {"Type": "AWS::SQS::Queue", "DependsOn": ["Key", "Alarm"]},
                "D": {"Type": "AWS::SQS::Queue", "DependsOn": "Q"}}}),
            json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"},
                "A": {"Type": "AWS::SQS::Queue"},
                "B": {"Type": "AWS::SQS::Queue", "DependsOn": ["Q"]},
                "C": {"Type": "AWS::SQS::Queue"},
                "D": {"Type": "AWS::SQS::Queue", "DependsOn": "Q"}}}),
        );
    }

    #[test]
    fn references_between_removed_resources_need_nothing() {
        let lines = check(
            json!({"Resources": {"Acl": {"Type": "AWS::WAFv2::WebACL"},
                "Assoc": {"Type": "AWS::WAFv2::WebACLAssociation", "DependsOn": "Acl",
                    "Properties": {"WebACLArn": {"Fn::GetAtt": ["Acl", "Arn"]}}}}}),
            json!({"Resources": {}}),
        );
        assert_eq!(
            lines,
            [
                "Acl (AWS::WAFv2::WebACL): not created by the local cloud; nothing reads it",
                "Assoc (AWS::WAFv2::WebACLAssociation): not created by the local cloud; nothing reads it"
            ]
        );
    }

    #[test]
    fn supported_resources_and_other_references_are_untouched() {
        check(
            json!({"Resources": {"Key": secret(), "Q": {"Type": "AWS::SQS::Queue"},
                "F": {"Type": "AWS::Lambda::Function", "Properties": {"A": {"Ref": "Q"}, "B": {"Ref": "AWS::Region"},
                    "C": {"Fn::GetAtt": ["Q", "Arn"]}, "D": {"Fn::Join": ["", [{"Ref": "Key"}, {"Ref": "Q"}]]}}}}}),
            json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"},
                "F": {"Type": "AWS::Lambda::Function", "Properties": {"A": {"Ref": "Q"}, "B": {"Ref": "AWS::Region"},
                    "C": {"Fn::GetAtt": ["Q", "Arn"]}, "D": {"Fn::Join": ["", [SECRET, {"Ref": "Q"}]]}}}}}),
        );
    }

    #[test]
    fn unknown_attributes_and_types_still_get_a_named_placeholder() {
        let t = json!({"Resources": {"Key": secret(), "X": {"Type": "Custom::Thing"}},
            "Outputs": {"A": {"Value": {"Fn::GetAtt": ["Key", "Nope"]}}, "B": {"Value": {"Ref": "X"}},
                "C": {"Value": {"Fn::GetAtt": "X.Deep.Attr"}}}});
        let adapted = adapt(t, &at(), &["AWS::SecretsManager::Secret", "Custom::Thing"]);
        assert_eq!(
            adapted.template["Outputs"],
            json!({"A": {"Value": "Key.Nope"}, "B": {"Value": "X"}, "C": {"Value": "X.Deep.Attr"}})
        );
    }

    #[test]
    fn odd_templates_are_left_as_they_are() {
        for t in [
            json!(null),
            json!([1, 2]),
            json!({"Resources": [secret()]}),
            json!({"Resources": {"A": 1, "B": {"Type": 7}, "C": {"Properties": {}}}}),
        ] {
            check(t.clone(), t);
        }
        // Intrinsics of unexpected shapes naming a removed resource.
        check(
            json!({"Resources": {"Key": secret(), "Q": {"Type": "AWS::SQS::Queue", "DependsOn": [1, "Key"],
                "Properties": {"A": {"Fn::GetAtt": ["Key", {"Ref": "P"}]}, "B": {"Ref": ["Key"]},
                    "C": {"Fn::GetAtt": "Key"}, "D": {"Fn::Sub": 3}, "E": {"Fn::Sub": ["${Key}", "x", "y"]},
                    "F": {"Ref": "Key", "Other": 1}}}}}),
            json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "DependsOn": [1],
                "Properties": {"A": {"Fn::GetAtt": ["Key", {"Ref": "P"}]}, "B": {"Ref": ["Key"]},
                    "C": {"Fn::GetAtt": "Key"}, "D": {"Fn::Sub": 3}, "E": {"Fn::Sub": ["${Key}", "x", "y"]},
                    "F": {"Ref": "Key", "Other": 1}}}}}),
        );
    }

    #[test]
    fn substitutions_are_in_logical_id_order_with_reads_in_a_stable_order() {
        let t = json!({"Resources": {"Z": secret(), "A": {"Type": "AWS::ApiGateway::ApiKey"}},
            "Outputs": {"O1": {"Value": {"Fn::GetAtt": ["A", "APIKeyId"]}}, "O2": {"Value": {"Ref": "A"}},
                "O3": {"Value": {"Ref": "Z"}}}});
        let adapted = adapt(t, &at(), MOTO_UNSUPPORTED_TYPES);
        assert_eq!(
            adapted.substitutions,
            vec![
                Substitution {
                    logical_id: "A".into(),
                    resource_type: "AWS::ApiGateway::ApiKey".into(),
                    replaced_by: "GetAtt APIKeyId = A, Ref = A".into()
                },
                Substitution {
                    logical_id: "Z".into(),
                    resource_type: "AWS::SecretsManager::Secret".into(),
                    replaced_by: "Ref = arn:aws:secretsmanager:eu-west-1:123456789012:secret:Z".into()
                },
            ]
        );
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(
            ["eu-west-1", "cn-northwest-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1"].map(partition),
            ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"]
        );
    }

    /// Every type of the moto list has a row, and the row has every attribute of the generated schema: a
    /// `Fn::GetAtt` the schema allows never falls back to the `{id}.{attribute}` placeholder.
    #[test]
    fn the_table_covers_the_moto_list_with_the_schemas_attributes() {
        let rows: Vec<&str> = RETURNS.iter().map(|r| r.type_name).collect();
        assert_eq!(rows, MOTO_UNSUPPORTED_TYPES);
        let missing: Vec<String> = RETURNS
            .iter()
            .flat_map(|row| {
                let schema = constructs::registry::schema(row.type_name);
                let attributes = schema.map(|s| s.attributes).unwrap_or_default();
                attributes
                    .iter()
                    .filter(|a| !row.attributes.iter().any(|(name, _)| *name == a.name))
                    .map(|a| format!("{} {}", row.type_name, a.name))
                    .chain(schema.is_none().then(|| format!("{}: no schema", row.type_name)))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(missing, Vec::<String>::new());
    }

    /// The `dev` stage as `cargo xtask synth` builds it (the same functions, in process).
    fn dev_stacks() -> Vec<synth::StackArtifact> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let app = constructs::app::default_app(root, "dev", &[]).unwrap();
        constructs::app::synthesize(&app).unwrap().stacks
    }

    /// Every logical id a `Ref`, `Fn::GetAtt`, `Fn::Sub` or `DependsOn` names in `v`.
    fn named(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("Ref", Value::String(id)) => {
                            out.insert(id.clone());
                        }
                        ("Fn::GetAtt", Value::Array(a)) => {
                            out.extend(a.first().and_then(Value::as_str).map(str::to_owned));
                        }
                        ("Fn::GetAtt", Value::String(s)) => {
                            out.insert(s.split('.').next().unwrap_or_default().to_owned());
                        }
                        ("Fn::Sub", x) => {
                            let s = x.as_str().or_else(|| x.get(0).and_then(Value::as_str)).unwrap_or_default();
                            for part in s.split("${").skip(1) {
                                let name = part.split('}').next().unwrap_or_default();
                                out.insert(name.split('.').next().unwrap_or_default().to_owned());
                            }
                        }
                        ("DependsOn", Value::String(id)) => {
                            out.insert(id.clone());
                        }
                        ("DependsOn", Value::Array(a)) => {
                            out.extend(a.iter().filter_map(Value::as_str).map(str::to_owned));
                        }
                        _ => {}
                    }
                    named(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| named(x, out)),
            _ => {}
        }
    }

    #[test]
    fn the_dev_templates_keep_no_reference_to_a_removed_resource() {
        let stacks = dev_stacks();
        assert!(!stacks.is_empty());
        for s in &stacks {
            let template: Value = serde_json::from_str(&s.template).unwrap();
            let adapted = adapt(template.clone(), &Placement::new(&s.region, "123456789012"), MOTO_UNSUPPORTED_TYPES);
            let removed: BTreeSet<String> = adapted.substitutions.iter().map(|x| x.logical_id.clone()).collect();
            let mut names = BTreeSet::new();
            named(&adapted.template, &mut names);
            assert!(names.is_disjoint(&removed), "{}: still names {:?}", s.id, names.intersection(&removed));
            // Exactly the resources of the listed types went, and nothing else.
            let resources = template["Resources"].as_object().unwrap();
            let expected: BTreeSet<String> = resources
                .iter()
                .filter(|(_, r)| MOTO_UNSUPPORTED_TYPES.contains(&type_of(r)))
                .map(|(id, _)| id.clone())
                .collect();
            assert_eq!(removed, expected, "{}", s.id);
            let left = adapted.template["Resources"].as_object().unwrap();
            assert_eq!(left.len() + removed.len(), resources.len(), "{}", s.id);
            // Outputs are all kept.
            assert_eq!(
                adapted.template.get("Outputs").map(|o| o.as_object().unwrap().len()),
                template.get("Outputs").map(|o| o.as_object().unwrap().len()),
                "{}",
                s.id
            );
        }
    }

    #[test]
    fn the_regional_stack_lists_its_waf_and_secrets() {
        let s = dev_stacks().into_iter().find(|s| s.id == "Regional").unwrap();
        let template: Value = serde_json::from_str(&s.template).unwrap();
        let adapted = adapt(template, &Placement::new(&s.region, "123456789012"), MOTO_UNSUPPORTED_TYPES);
        let lines: Vec<String> = adapted
            .substitutions
            .iter()
            .filter(|x| x.resource_type.starts_with("AWS::WAFv2::") || x.resource_type == "AWS::SecretsManager::Secret")
            .map(|x| format!("{}/{x}", s.id))
            .collect();
        assert_eq!(
            lines,
            [
                "Regional/ApiWebAcl (AWS::WAFv2::WebACL): not created by the local cloud; references read GetAtt Arn = \
                 arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/ApiWebAcl/ApiWebAcl",
                "Regional/ApiWebAclLogging (AWS::WAFv2::LoggingConfiguration): not created by the local cloud; nothing \
                 reads it",
                "Regional/JwtSigningKey (AWS::SecretsManager::Secret): not created by the local cloud; references read \
                 Ref = arn:aws:secretsmanager:eu-west-1:123456789012:secret:JwtSigningKey",
                "Regional/WebhookSigningKey (AWS::SecretsManager::Secret): not created by the local cloud; references \
                 read Ref = arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookSigningKey",
            ]
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod moto_quirk_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_bus_ref_becomes_its_name_and_a_dependency_on_an_emulator_only() {
        let template = json!({"Resources": {
            "Events": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "platform-local-events"}},
            "Rule": {"Type": "AWS::Events::Rule", "DependsOn": "Other", "Properties": {"EventBusName": {"Ref": "Events"}}},
            "Other": {"Type": "AWS::SQS::Queue"}
        }});
        let at = Placement::new("us-east-1", "123456789012");
        let moto = adapt(template.clone(), &at, MOTO_UNSUPPORTED_TYPES).template;
        assert_eq!(
            moto["Resources"]["Rule"],
            json!({"Type": "AWS::Events::Rule", "DependsOn": ["Other", "Events"], "Properties": {"EventBusName": "platform-local-events"}})
        );
        assert_eq!(adapt(template.clone(), &at, &[]).template, template, "AWS keeps the Ref");
    }
}
