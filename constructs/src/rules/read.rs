//! Reading rendered resources: the helpers the rules of every service share.

use synth::{Doc, DocResource, Intrinsic, Node};

/// The node at a dotted path below `n` (`"AccessLogSetting.DestinationArn"`).
pub(crate) fn at<'a>(n: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(n, |n, k| n.get(k))
}

/// The property at a dotted path of `r`.
pub(crate) fn prop<'a>(r: &'a DocResource, path: &str) -> Option<&'a Node> {
    at(&r.properties, path)
}

/// True for `true` and `"true"` (CloudFormation accepts both).
pub(crate) fn is_true(n: Option<&Node>) -> bool {
    matches!(n, Some(Node::Bool(true))) || matches!(n, Some(Node::Str(s)) if s == "true")
}

pub(crate) fn str_of(n: Option<&Node>) -> Option<&str> {
    n.and_then(Node::as_str)
}

/// The items of a list, a single value as a list of one, nothing as an empty list (policy documents allow both
/// forms).
pub(crate) fn items(n: Option<&Node>) -> Vec<&Node> {
    match n {
        Some(Node::List(l)) => l.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// A finding with message `what`.
pub(crate) fn missing(what: &str) -> Option<String> {
    Some(what.to_owned())
}

/// No finding when `ok`, else a finding with `message`.
pub(crate) fn require(ok: bool, message: &str) -> Option<String> {
    if ok { None } else { missing(message) }
}

/// An integer property, written as a number or a string.
pub(crate) fn int(n: Option<&Node>) -> Option<i64> {
    match n? {
        Node::Int(i) => Some(*i),
        Node::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// The logical id a `Ref` or `Fn::GetAtt` names.
pub(crate) fn target_id(n: Option<&Node>) -> Option<&str> {
    match n? {
        Node::Fn(f) => match &**f {
            Intrinsic::Ref(t) | Intrinsic::GetAtt(t, _) => Some(&t.logical_id),
            _ => None,
        },
        _ => None,
    }
}

/// True when some resource of `type_name` has a property `key` that refers to `id`, and passes `also`.
pub(crate) fn referred_by(
    doc: &Doc,
    type_name: &str,
    key: &str,
    id: &str,
    also: impl Fn(&DocResource) -> bool,
) -> bool {
    doc.of_type(type_name).any(|o| prop(o, key).is_some_and(|n| n.refers_to(id)) && also(o))
}

/// True when a policy document denies requests without TLS (`aws:SecureTransport` false).
pub(crate) fn denies_insecure_transport(document: Option<&Node>) -> bool {
    items(document.and_then(|d| d.get("Statement"))).iter().any(|s| {
        str_of(s.get("Effect")) == Some("Deny")
            && s.get("Condition")
                .and_then(|c| c.get("Bool"))
                .and_then(|b| b.get("aws:SecureTransport"))
                .is_some_and(|v| matches!(v, Node::Bool(false)) || v.as_str() == Some("false"))
    })
}

/// True when a policy statement allows any principal (`"*"` or `{"AWS": "*"}`) without a condition.
pub(crate) fn open_statement(s: &Node) -> bool {
    let principal = s.get("Principal");
    let anyone = matches!(principal.and_then(Node::as_str), Some("*"))
        || principal.and_then(|p| p.get("AWS")).and_then(Node::as_str) == Some("*");
    str_of(s.get("Effect")) == Some("Allow") && anyone && s.get("Condition").is_none()
}
