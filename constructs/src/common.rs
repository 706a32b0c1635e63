//! What every construct uses: removal policies, ARNs built from pseudo parameters, tags, and suppressions: one
//! declaration ([`suppress`] of a [`Check`]) written in the form of every scanner that has the check.

use synth::{Node, Policy, ResourceEntry, Val};

use crate::rules::RuleId;

/// What CloudFormation does with a resource when it leaves the template or is replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RemovalPolicy {
    /// Keep it (and its data). The default of every stateful construct: deleting a stack or renaming a construct
    /// must never delete data.
    #[default]
    Retain,
    /// Delete it: for scratch stages and tests.
    Delete,
    /// Take a final snapshot, then delete (types that support snapshots).
    Snapshot,
}

impl RemovalPolicy {
    fn policy(self) -> Policy {
        match self {
            RemovalPolicy::Retain => Policy::Retain,
            RemovalPolicy::Delete => Policy::Delete,
            RemovalPolicy::Snapshot => Policy::Snapshot,
        }
    }

    /// Sets `DeletionPolicy` and `UpdateReplacePolicy` (both: a replacement deletes the old resource too).
    pub(crate) fn apply(self, entry: &mut ResourceEntry) {
        entry.set_deletion_policy(self.policy()).set_update_replace_policy(self.policy());
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>` of this stack's region and account.
pub fn arn(service: &str, resource: &str) -> Val<String> {
    Val::sub(format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"))
}

/// `<service>.<region>.amazonaws.com`, the value of `kms:ViaService` for a service of this stack's region.
pub fn via_service(service: &str) -> Val<String> {
    Val::sub(format!("{service}.${{AWS::Region}}.amazonaws.com"))
}

/// Checkov checks that platform resources skip, each for a reason given where the skip is declared. Written as
/// `Metadata.checkov.skip: [{id, comment}]`, which checkov honours and reports as skipped; the gate test matches
/// checkov's skipped list against these declarations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Checkov {
    /// `CKV_AWS_18`: S3 bucket access logging.
    S3AccessLogging,
    /// `CKV_AWS_21`: S3 bucket versioning.
    S3Versioning,
    /// `CKV_AWS_111`: IAM write access without constraints.
    IamWriteWithoutConstraints,
    /// `CKV_AWS_115`: Lambda reserved concurrency.
    LambdaConcurrency,
    /// `CKV_AWS_116`: Lambda dead-letter queue.
    LambdaDeadLetterQueue,
    /// `CKV_AWS_117`: Lambda inside a VPC.
    LambdaInVpc,
    /// `CKV_AWS_120`: API Gateway stage cache.
    ApiGatewayCache,
    /// `CKV_AWS_174`: CloudFront viewer TLS 1.2.
    CloudFrontTls12,
    /// `CKV_AWS_158`: log group KMS encryption.
    LogGroupKms,
    /// `CKV2_AWS_71`: ACM certificate domain without wildcard.
    AcmWildcard,
    /// `CKV_AWS_84`: OpenSearch logging.
    OpenSearchLogging,
}

impl Checkov {
    /// The check id as checkov prints it.
    pub fn id(self) -> &'static str {
        match self {
            Checkov::S3AccessLogging => "CKV_AWS_18",
            Checkov::S3Versioning => "CKV_AWS_21",
            Checkov::IamWriteWithoutConstraints => "CKV_AWS_111",
            Checkov::LambdaConcurrency => "CKV_AWS_115",
            Checkov::LambdaDeadLetterQueue => "CKV_AWS_116",
            Checkov::LambdaInVpc => "CKV_AWS_117",
            Checkov::ApiGatewayCache => "CKV_AWS_120",
            Checkov::CloudFrontTls12 => "CKV_AWS_174",
            Checkov::LogGroupKms => "CKV_AWS_158",
            Checkov::AcmWildcard => "CKV2_AWS_71",
            Checkov::OpenSearchLogging => "CKV_AWS_84",
        }
    }
}

/// Metadata key checkov reads skips from: `checkov.skip: [{id, comment}]`.
pub const CHECKOV_METADATA_KEY: &str = "checkov";
/// Metadata key cfn-lint reads a resource's configuration from: `cfn-lint.config.ignore_checks: [id]`.
pub const CFN_LINT_METADATA_KEY: &str = "cfn-lint";
/// Metadata key the AWS Guard Rules Registry's rules read suppressions from: `guard.SuppressedRules: [rule name]`
/// (cfn-guard itself has no suppression: each rule of the registry, and each of ours in `guard/`, filters out the
/// resources whose list names it).
pub const GUARD_METADATA_KEY: &str = "guard";
/// Metadata key cfn-nag reads suppressions from: `cfn_nag.rules_to_suppress: [{id, reason}]`.
pub const CFN_NAG_METADATA_KEY: &str = "cfn_nag";

/// A check that the common scanners run, by its id in each scanner that has it: what one suppression declares,
/// so that rcdk's rule pack, cfn-lint, checkov, cfn-guard and cfn-nag all see the same decision and its reason.
///
/// The ids are the scanners' own: cfn-lint's (with the `cfn-lint-serverless` rules, `WS`/`ES`), checkov's, the
/// rule names of the AWS Guard Rules Registry's Well-Architected rule sets, cfn-nag's (the `W` rule ids of its
/// rule classes). A check no scanner but the pack has is made from its [`RuleId`] (`From<RuleId>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// The name written in `rcdk:suppressions` when the pack has no rule for it (`scanner:<name>`).
    pub name: &'static str,
    /// The rule of the pack, if it has one: the suppression is then checked by the pack (unused is an error).
    pub pack: Option<RuleId>,
    pub checkov: Option<Checkov>,
    pub cfn_lint: &'static [&'static str],
    pub guard: &'static [&'static str],
    pub cfn_nag: &'static [&'static str],
}

impl Check {
    const fn scanners(name: &'static str) -> Check {
        Check { name, pack: None, checkov: None, cfn_lint: &[], guard: &[], cfn_nag: &[] }
    }

    /// An S3 bucket without server access logs (the log bucket itself).
    pub const S3_ACCESS_LOGGING: Check = Check {
        pack: Some(RuleId::S1),
        checkov: Some(Checkov::S3AccessLogging),
        guard: &["S3_BUCKET_LOGGING_ENABLED"],
        cfn_nag: &["W35"],
        ..Check::scanners("S3AccessLogging")
    };
    /// An S3 bucket without cross-region replication.
    pub const S3_REPLICATION: Check =
        Check { guard: &["S3_BUCKET_REPLICATION_ENABLED"], ..Check::scanners("S3Replication") };
    /// An S3 bucket without a default Object Lock retention.
    pub const S3_OBJECT_LOCK: Check =
        Check { guard: &["S3_BUCKET_DEFAULT_LOCK_ENABLED"], ..Check::scanners("S3ObjectLock") };
    /// A CloudFront distribution whose viewers may use TLS below 1.2.
    pub const CLOUDFRONT_TLS_1_2: Check = Check {
        pack: Some(RuleId::Cfr4),
        checkov: Some(Checkov::CloudFrontTls12),
        cfn_nag: &["W70"],
        ..Check::scanners("CloudFrontTls12")
    };
    /// A Secrets Manager secret without rotation.
    pub const SECRET_ROTATION: Check = Check {
        pack: Some(RuleId::Smg4),
        guard: &["SECRETSMANAGER_ROTATION_ENABLED_CHECK"],
        ..Check::scanners("SecretRotation")
    };
    /// A Lambda function without reserved concurrency.
    pub const LAMBDA_CONCURRENCY: Check = Check {
        checkov: Some(Checkov::LambdaConcurrency),
        guard: &["LAMBDA_CONCURRENCY_CHECK"],
        cfn_nag: &["W92"],
        ..Check::scanners("LambdaConcurrency")
    };
    /// A Lambda function without a dead-letter queue of its own (`DeadLetterConfig`).
    pub const LAMBDA_DEAD_LETTER_QUEUE: Check = Check {
        checkov: Some(Checkov::LambdaDeadLetterQueue),
        guard: &["LAMBDA_DLQ_CHECK"],
        ..Check::scanners("LambdaDeadLetterQueue")
    };
    /// A Lambda function outside a VPC.
    pub const LAMBDA_IN_VPC: Check = Check {
        checkov: Some(Checkov::LambdaInVpc),
        guard: &["LAMBDA_INSIDE_VPC"],
        cfn_nag: &["W89"],
        ..Check::scanners("LambdaInVpc")
    };
    /// A Lambda function without a log group named `/aws/lambda/<its name>` with a retention: cfn-lint-serverless
    /// does not follow `LoggingConfig.LogGroup`, where the constructs name the function's own log group.
    pub const LAMBDA_LOG_GROUP_BY_NAME: Check =
        Check { cfn_lint: &["WS1004"], ..Check::scanners("LambdaLogGroupByName") };
    /// An SQS event source mapping without an on-failure destination.
    pub const EVENT_SOURCE_ON_FAILURE: Check =
        Check { cfn_lint: &["ES1001"], ..Check::scanners("EventSourceOnFailure") };
    /// An SQS queue without a redrive policy (a dead-letter queue itself).
    pub const SQS_REDRIVE: Check = Check { cfn_lint: &["ES6000"], ..Check::scanners("SqsRedrive") };
    /// An SNS subscription without a redrive policy.
    pub const SNS_SUBSCRIPTION_REDRIVE: Check =
        Check { cfn_lint: &["ES7000"], ..Check::scanners("SnsSubscriptionRedrive") };
    /// An IAM role with an inline policy.
    pub const IAM_INLINE_POLICY: Check =
        Check { guard: &["IAM_NO_INLINE_POLICY_CHECK"], ..Check::scanners("IamInlinePolicy") };
    /// An IAM policy with write actions on `*` (the actions that take no resource).
    pub const IAM_WRITE_WITHOUT_CONSTRAINTS: Check =
        Check { checkov: Some(Checkov::IamWriteWithoutConstraints), ..Check::scanners("IamWriteWithoutConstraints") };
    /// An API Gateway stage without a cache cluster.
    pub const API_GATEWAY_CACHE: Check =
        Check { checkov: Some(Checkov::ApiGatewayCache), ..Check::scanners("ApiGatewayCache") };

    /// Every check with an id in more than the pack (what `From<RuleId>` looks a rule up in).
    pub const ALL: &'static [Check] = &[
        Check::S3_ACCESS_LOGGING,
        Check::S3_REPLICATION,
        Check::S3_OBJECT_LOCK,
        Check::CLOUDFRONT_TLS_1_2,
        Check::SECRET_ROTATION,
        Check::LAMBDA_CONCURRENCY,
        Check::LAMBDA_DEAD_LETTER_QUEUE,
        Check::LAMBDA_IN_VPC,
        Check::LAMBDA_LOG_GROUP_BY_NAME,
        Check::EVENT_SOURCE_ON_FAILURE,
        Check::SQS_REDRIVE,
        Check::SNS_SUBSCRIPTION_REDRIVE,
        Check::IAM_INLINE_POLICY,
        Check::IAM_WRITE_WITHOUT_CONSTRAINTS,
        Check::API_GATEWAY_CACHE,
    ];

    /// The id written in `rcdk:suppressions`: the pack's rule id, else `scanner:<name>`.
    pub fn suppression_id(&self) -> String {
        match self.pack {
            Some(rule) => rule.as_str().to_owned(),
            None => format!("{}{}", synth::SCANNER_SUPPRESSION_PREFIX, self.name),
        }
    }

    /// The check whose `rcdk:suppressions` id is `id`.
    pub fn by_suppression_id(id: &str) -> Option<Check> {
        Check::ALL.iter().copied().find(|c| c.suppression_id() == id)
    }
}

/// A rule of the pack is the check that names it in [`Check::ALL`], or a check of the pack alone.
impl From<RuleId> for Check {
    fn from(rule: RuleId) -> Check {
        Check::ALL
            .iter()
            .copied()
            .find(|c| c.pack == Some(rule))
            .unwrap_or(Check { pack: Some(rule), ..Check::scanners(rule.as_str()) })
    }
}

/// Declares that `entry` is exempt from `check`, because `reason`: one declaration, written in every form a
/// scanner reads (see [`Check`]): `rcdk:suppressions` (the pack; `{id, reason}`), `checkov.skip` (`{id,
/// comment}`), `cfn-lint.config.ignore_checks`, `guard.SuppressedRules` and `cfn_nag.rules_to_suppress` (`{id,
/// reason}`). cfn-lint and the guard rules read ids only; the reason beside them is the `rcdk:suppressions` entry.
pub fn suppress(entry: &mut ResourceEntry, check: impl Into<Check>, reason: &str) {
    let check = check.into();
    entry.suppress(check.suppression_id(), reason);
    if let Some(c) = check.checkov {
        skip_checkov(entry, c, reason);
    }
    for id in check.cfn_lint {
        edit_list(entry, CFN_LINT_METADATA_KEY, &["config", "ignore_checks"], |l| {
            push_unique(l, Node::Str((*id).into()))
        });
    }
    for id in check.guard {
        edit_list(entry, GUARD_METADATA_KEY, &["SuppressedRules"], |l| push_unique(l, Node::Str((*id).into())));
    }
    for id in check.cfn_nag {
        edit_list(entry, CFN_NAG_METADATA_KEY, &["rules_to_suppress"], |l| push_entry(l, "id", id, "reason", reason));
    }
}

/// Runs `f` on the list at `key` / `path[0]` / `path[1]`... of `entry`'s metadata, made (with the maps above it)
/// where absent or of another shape.
fn edit_list(entry: &mut ResourceEntry, key: &str, path: &[&str], f: impl FnOnce(&mut Vec<Node>)) {
    let mut root = entry.metadata().get(key).cloned().unwrap_or(Node::Null);
    edit_at(&mut root, path, f);
    entry.set_metadata(key, root);
}

fn edit_at(node: &mut Node, path: &[&str], f: impl FnOnce(&mut Vec<Node>)) {
    match path.split_first() {
        None => {
            if !matches!(node, Node::List(_)) {
                *node = Node::List(Vec::new());
            }
            if let Node::List(l) = node {
                f(l);
            }
        }
        Some((head, rest)) => {
            if !matches!(node, Node::Map(_)) {
                *node = Node::Map(Vec::new());
            }
            if let Node::Map(fields) = node {
                let at = match fields.iter().position(|(k, _)| k == head) {
                    Some(at) => at,
                    None => {
                        fields.push(((*head).into(), Node::Null));
                        fields.len() - 1
                    }
                };
                edit_at(&mut fields[at].1, rest, f);
            }
        }
    }
}

fn push_unique(list: &mut Vec<Node>, item: Node) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Appends `{id_key: id, text_key: text}` unless an entry with that id is there (the first reason stays).
fn push_entry(list: &mut Vec<Node>, id_key: &str, id: &str, text_key: &str, text: &str) {
    if !list.iter().any(|s| s.get(id_key).and_then(Node::as_str) == Some(id)) {
        list.push(Node::Map(vec![(id_key.into(), Node::Str(id.into())), (text_key.into(), Node::Str(text.into()))]));
    }
}

/// Writes the checkov form of a skip: `entry` skips checkov check `check`, because `comment`. Part of
/// [`suppress`], the only way to declare one.
fn skip_checkov(entry: &mut ResourceEntry, check: Checkov, comment: &str) {
    edit_list(entry, CHECKOV_METADATA_KEY, &["skip"], |l| push_entry(l, "id", check.id(), "comment", comment));
}

/// The checkov skips declared on a rendered resource: `(check id, comment)`.
pub fn checkov_skips(metadata: &std::collections::BTreeMap<String, Node>) -> Vec<(String, String)> {
    let Some(Node::List(l)) = metadata.get(CHECKOV_METADATA_KEY).and_then(|c| c.get("skip")) else {
        return Vec::new();
    };
    l.iter()
        .map(|s| {
            let f = |k: &str| s.get(k).and_then(Node::as_str).unwrap_or_default().to_owned();
            (f("id"), f("comment"))
        })
        .collect()
}

/// Runs `f` with the scope at construct path `path` when `scope` is at `path` or above it (a construct adding a
/// resource under another construct, e.g. an event source under its function); otherwise with `scope` itself.
pub(crate) fn at_path<R>(scope: &mut synth::Scope, path: &str, f: impl FnOnce(&mut synth::Scope) -> R) -> R {
    let here = scope.path().to_owned();
    let rest = if here.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(here.as_str()).and_then(|r| if r.is_empty() { Some(r) } else { r.strip_prefix('/') })
    };
    match rest {
        Some(rest) => {
            let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            descend(scope, &segments, f)
        }
        None => f(scope),
    }
}

fn descend<R>(scope: &mut synth::Scope, segments: &[&str], f: impl FnOnce(&mut synth::Scope) -> R) -> R {
    match segments.split_first() {
        None => f(scope),
        Some((head, tail)) => {
            let mut child = scope.child(head);
            descend(&mut child, tail, f)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use synth::{App, RawResource, Stack, StackProps};

    use super::*;

    /// The metadata `declare` writes on a bare resource, as rendered JSON.
    fn metadata_of(declare: impl FnOnce(&mut ResourceEntry)) -> serde_json::Value {
        let mut app = App::new("t");
        let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-dev", "eu-west-1", "dev")));
        let mut root = stack.root();
        let h = root.add("Fn", RawResource::new("AWS::Lambda::Function", json!({})));
        declare(root.stack_mut().entry_mut(&h));
        let out = app.synth().map(|a| a.stacks[0].template.clone()).unwrap_or_else(|e| panic!("{e}"));
        let t: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        t["Resources"]["Fn"]["Metadata"].clone()
    }

    #[test]
    fn one_declaration_writes_every_form_with_its_reason() {
        let got = metadata_of(|e| {
            suppress(e, Check::LAMBDA_CONCURRENCY, "bounded by usage plans");
            suppress(e, Check::LAMBDA_LOG_GROUP_BY_NAME, "LoggingConfig names it");
        });
        assert_eq!(
            got,
            json!({
                "cfn-lint": {"config": {"ignore_checks": ["WS1004"]}},
                "cfn_nag": {"rules_to_suppress": [{"id": "W92", "reason": "bounded by usage plans"}]},
                "checkov": {"skip": [{"id": "CKV_AWS_115", "comment": "bounded by usage plans"}]},
                "guard": {"SuppressedRules": ["LAMBDA_CONCURRENCY_CHECK"]},
                "rcdk:suppressions": [
                    {"id": "scanner:LambdaConcurrency", "reason": "bounded by usage plans"},
                    {"id": "scanner:LambdaLogGroupByName", "reason": "LoggingConfig names it"},
                ],
            })
        );
    }

    #[test]
    fn a_pack_rule_brings_its_scanner_ids_along() {
        let got = metadata_of(|e| suppress(e, RuleId::S1, "the log bucket"));
        assert_eq!(got["rcdk:suppressions"], json!([{"id": "AwsSolutions-S1", "reason": "the log bucket"}]));
        assert_eq!(got["checkov"]["skip"], json!([{"id": "CKV_AWS_18", "comment": "the log bucket"}]));
        assert_eq!(got["guard"]["SuppressedRules"], json!(["S3_BUCKET_LOGGING_ENABLED"]));
        assert_eq!(got["cfn_nag"]["rules_to_suppress"], json!([{"id": "W35", "reason": "the log bucket"}]));
        // A rule only the pack has is written for the pack alone.
        let got = metadata_of(|e| suppress(e, RuleId::Os4, "one node"));
        assert_eq!(got, json!({"rcdk:suppressions": [{"id": "AwsSolutions-OS4", "reason": "one node"}]}));
    }

    #[test]
    fn declaring_twice_writes_once() {
        let got = metadata_of(|e| {
            suppress(e, Check::LAMBDA_IN_VPC, "public endpoints");
            suppress(e, Check::LAMBDA_IN_VPC, "public endpoints");
        });
        assert_eq!(got["guard"]["SuppressedRules"], json!(["LAMBDA_INSIDE_VPC"]));
        assert_eq!(got["checkov"]["skip"].as_array().map(Vec::len), Some(1));
        assert_eq!(got["rcdk:suppressions"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn every_check_names_a_scanner_and_is_found_by_its_id() {
        let mut names = std::collections::BTreeSet::new();
        for c in Check::ALL {
            assert!(names.insert(c.name), "{} is declared twice", c.name);
            let forms = c.checkov.iter().count() + c.cfn_lint.len() + c.guard.len() + c.cfn_nag.len();
            assert!(forms > 0, "{} names no scanner but the pack", c.name);
            assert_eq!(Check::by_suppression_id(&c.suppression_id()), Some(*c));
            if let Some(rule) = c.pack {
                assert_eq!(Check::from(rule), *c);
            }
        }
    }
}
