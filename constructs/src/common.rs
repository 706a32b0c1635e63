//! What every construct uses: removal policies, ARNs built from pseudo parameters, tags, and the typed
//! suppressions of rule-pack rules and checkov checks.

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

/// Metadata key checkov reads skips from.
pub const CHECKOV_METADATA_KEY: &str = "checkov";

/// Declares that `entry` skips checkov check `check`, because `comment`.
pub fn skip_checkov(entry: &mut ResourceEntry, check: Checkov, comment: &str) {
    let item =
        Node::Map(vec![("id".into(), Node::Str(check.id().into())), ("comment".into(), Node::Str(comment.into()))]);
    let mut skips = match entry.metadata().get(CHECKOV_METADATA_KEY).and_then(|c| c.get("skip")) {
        Some(Node::List(l)) => l.clone(),
        _ => Vec::new(),
    };
    if !skips.iter().any(|s| s.get("id").and_then(Node::as_str) == Some(check.id())) {
        skips.push(item);
    }
    entry.set_metadata(CHECKOV_METADATA_KEY, Node::Map(vec![("skip".into(), Node::List(skips))]));
}

/// Declares that `entry` is exempt from rule `rule` of the pack, because `reason` (written to the template).
pub fn suppress(entry: &mut ResourceEntry, rule: RuleId, reason: &str) {
    entry.suppress(rule.as_str(), reason);
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
