//! Property values: an untyped tree ([`Node`]) and its typed view ([`Val<T>`]) with every intrinsic function.
//!
//! A template is JSON in which some objects are function calls (`{"Ref": ..}`, `{"Fn::Sub": ..}`). [`Node`] keeps
//! the two apart so the validator can follow references without parsing strings. [`Val<T>`] is what the typed
//! layers use: a `Val<String>` is a literal string or any intrinsic that evaluates to a string, a `Val<i64>` a
//! literal integer or an intrinsic of that type, a `Val<SomeStruct>` a struct or `Fn::If`/`AWS::NoValue`. A struct
//! field cannot take a number because `Val<SomeStruct>` has no `From<i64>`.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// An untyped CloudFormation value: JSON plus intrinsic function calls.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A string the author asserts is valid although the pinned spec does not list it (e.g. an enum value newer
    /// than the spec). Renders as a plain string; the validator skips its enum and pattern checks.
    Unchecked(String),
    List(Vec<Node>),
    /// An object; keys keep the order given (the typed layers give them in a fixed order).
    Map(Vec<(String, Node)>),
    Fn(Box<Intrinsic>),
}

/// What a `Ref` or `Fn::GetAtt` points at: a logical id, and the stack that owns it when known.
///
/// `stack` is set by handles of resources added to a stack; synth uses it to turn a reference across stacks into
/// an output plus `Fn::GetStackOutput`. A reference written by hand (`Val::ref_raw`) has no stack and is local.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub logical_id: String,
    pub stack: Option<Arc<str>>,
}

impl Target {
    pub fn local(logical_id: impl Into<String>) -> Self {
        Target { logical_id: logical_id.into(), stack: None }
    }
}

/// The intrinsic functions. Condition functions (`Fn::Equals` ...) are in [`Cond`].
#[derive(Clone, Debug, PartialEq)]
pub enum Intrinsic {
    Ref(Target),
    GetAtt(Target, String),
    /// `Fn::Sub` with its string and (possibly empty) variable map.
    Sub(String, Vec<(String, Node)>),
    Join(String, Node),
    Select(Node, Node),
    Split(String, Node),
    GetAZs(Node),
    Cidr(Node, Node, Node),
    /// `Fn::If` naming a condition of the template.
    If(String, Node, Node),
    ImportValue(Node),
    GetStackOutput {
        stack_name: Node,
        output_name: Node,
        region: Option<Node>,
        role_arn: Option<Node>,
    },
    Base64(Node),
    FindInMap(String, Node, Node),
}

/// A condition expression of the `Conditions` section (and of `Fn::If` through its name).
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Equals(Node, Node),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// `{"Condition": "Name"}`: another named condition.
    Named(String),
}

impl Cond {
    pub fn equals(a: impl Into<Val<String>>, b: impl Into<Val<String>>) -> Cond {
        Cond::Equals(a.into().into_node(), b.into().into_node())
    }
    pub fn and(items: impl IntoIterator<Item = Cond>) -> Cond {
        Cond::And(items.into_iter().collect())
    }
    pub fn or(items: impl IntoIterator<Item = Cond>) -> Cond {
        Cond::Or(items.into_iter().collect())
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(c: Cond) -> Cond {
        Cond::Not(Box::new(c))
    }
    pub fn named(name: impl Into<String>) -> Cond {
        Cond::Named(name.into())
    }
}

/// A list of typed values: the Rust type of a CloudFormation list property.
pub type List<T> = Vec<Val<T>>;
/// A string-keyed map of typed values (sorted, so output is deterministic).
pub type Map<T> = BTreeMap<String, Val<T>>;

/// A free-form JSON value (policy documents, `format: json` properties), which may contain intrinsics.
#[derive(Clone, Debug, PartialEq)]
pub struct Json(pub Node);

impl Json {
    /// An object from keys and values (values may contain intrinsics); keys keep the given order.
    pub fn obj<K: Into<String>>(fields: impl IntoIterator<Item = (K, Node)>) -> Json {
        Json(Node::Map(fields.into_iter().map(|(k, v)| (k.into(), v)).collect()))
    }
    /// A list of values.
    pub fn list(items: impl IntoIterator<Item = Node>) -> Json {
        Json(Node::List(items.into_iter().collect()))
    }
}

impl<T> From<Val<T>> for Node {
    fn from(v: Val<T>) -> Node {
        v.node
    }
}

impl From<&str> for Node {
    fn from(v: &str) -> Node {
        Node::Str(v.to_owned())
    }
}

impl From<String> for Node {
    fn from(v: String) -> Node {
        Node::Str(v)
    }
}

impl From<i64> for Node {
    fn from(v: i64) -> Node {
        Node::Int(v)
    }
}

impl From<bool> for Node {
    fn from(v: bool) -> Node {
        Node::Bool(v)
    }
}

impl From<Json> for Node {
    fn from(v: Json) -> Node {
        v.0
    }
}

impl<T: Into<Node>> From<Vec<T>> for Node {
    fn from(v: Vec<T>) -> Node {
        Node::List(v.into_iter().map(Into::into).collect())
    }
}

impl From<serde_json::Value> for Json {
    fn from(v: serde_json::Value) -> Self {
        Json(Node::from_json(v))
    }
}

impl From<Node> for Json {
    fn from(n: Node) -> Self {
        Json(n)
    }
}

/// A typed CloudFormation value: a literal `T` or an intrinsic function that evaluates to a `T`.
pub struct Val<T> {
    node: Node,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Val<T> {
    fn clone(&self) -> Self {
        Val { node: self.node.clone(), _type: PhantomData }
    }
}

impl<T> std::fmt::Debug for Val<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.node.fmt(f)
    }
}

impl<T> PartialEq for Val<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T> Val<T> {
    /// Wraps an untyped node. The escape hatch: the caller vouches that `node` evaluates to a `T`.
    pub fn raw(node: Node) -> Self {
        Val { node, _type: PhantomData }
    }
    pub fn node(&self) -> &Node {
        &self.node
    }
    pub fn into_node(self) -> Node {
        self.node
    }
    /// `Fn::If`: `then` when the named condition holds, else `otherwise`.
    pub fn if_(condition: impl Into<String>, then: impl Into<Val<T>>, otherwise: impl Into<Val<T>>) -> Self {
        Self::func(Intrinsic::If(condition.into(), then.into().node, otherwise.into().node))
    }
    /// `Ref: AWS::NoValue`: removes the property (useful as a branch of `Fn::If`).
    pub fn no_value() -> Self {
        Self::func(Intrinsic::Ref(Target::local("AWS::NoValue")))
    }
    /// `Fn::Select` of a list value.
    pub fn select(index: usize, list: Val<List<T>>) -> Self {
        Self::func(Intrinsic::Select(Node::Int(index as i64), list.node))
    }
    /// `Fn::FindInMap`: a value of the template's mapping `map`.
    pub fn find_in_map(map: impl Into<String>, top: impl Into<Val<String>>, second: impl Into<Val<String>>) -> Self {
        Self::func(Intrinsic::FindInMap(map.into(), top.into().node, second.into().node))
    }
    /// `Fn::GetStackOutput`: an output of another stack, in this region unless `region` is given.
    pub fn get_stack_output(
        stack_name: impl Into<Val<String>>,
        output_name: impl Into<Val<String>>,
        region: Option<Val<String>>,
    ) -> Self {
        Self::func(Intrinsic::GetStackOutput {
            stack_name: stack_name.into().node,
            output_name: output_name.into().node,
            region: region.map(|r| r.node),
            role_arn: None,
        })
    }
    /// `Fn::ImportValue`: an output exported by another stack of the same region.
    pub fn import_value(export_name: impl Into<Val<String>>) -> Self {
        Self::func(Intrinsic::ImportValue(export_name.into().node))
    }
    /// `Ref` to a parameter or resource by logical id, in this template.
    pub fn ref_raw(logical_id: impl Into<String>) -> Self {
        Self::func(Intrinsic::Ref(Target::local(logical_id)))
    }
    /// `Fn::GetAtt` by logical id and attribute name, in this template.
    pub fn get_att_raw(logical_id: impl Into<String>, attribute: impl Into<String>) -> Self {
        Self::func(Intrinsic::GetAtt(Target::local(logical_id), attribute.into()))
    }
    pub(crate) fn func(i: Intrinsic) -> Self {
        Val::raw(Node::Fn(Box::new(i)))
    }
}

impl Val<String> {
    /// `Fn::Sub` with `${Name}` / `${Name.Attribute}` / pseudo parameter references.
    pub fn sub(template: impl Into<String>) -> Self {
        Self::func(Intrinsic::Sub(template.into(), Vec::new()))
    }
    /// `Fn::Sub` with a variable map.
    pub fn sub_with<K: Into<String>>(
        template: impl Into<String>,
        vars: impl IntoIterator<Item = (K, Val<String>)>,
    ) -> Self {
        let mut vars: Vec<(String, Node)> = vars.into_iter().map(|(k, v)| (k.into(), v.node)).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        Self::func(Intrinsic::Sub(template.into(), vars))
    }
    /// `Fn::Join` of string values.
    pub fn join(separator: impl Into<String>, items: impl IntoIterator<Item = Val<String>>) -> Self {
        let list = Node::List(items.into_iter().map(|v| v.node).collect());
        Self::func(Intrinsic::Join(separator.into(), list))
    }
    /// `Fn::Join` of a list-valued expression.
    pub fn join_list(separator: impl Into<String>, list: Val<List<String>>) -> Self {
        Self::func(Intrinsic::Join(separator.into(), list.node))
    }
    /// `Fn::Base64`.
    pub fn base64(v: impl Into<Val<String>>) -> Self {
        Self::func(Intrinsic::Base64(v.into().node))
    }
}

impl Val<List<String>> {
    /// `Fn::Split`.
    pub fn split(separator: impl Into<String>, source: impl Into<Val<String>>) -> Self {
        Self::func(Intrinsic::Split(separator.into(), source.into().node))
    }
    /// `Fn::GetAZs` for a region (`""` means this stack's region).
    pub fn get_azs(region: impl Into<Val<String>>) -> Self {
        Self::func(Intrinsic::GetAZs(region.into().node))
    }
    /// `Fn::Cidr`: `count` CIDR blocks of `2^cidr_bits` addresses each, carved from `ip_block`.
    pub fn cidr(ip_block: impl Into<Val<String>>, count: u32, cidr_bits: u32) -> Self {
        Self::func(Intrinsic::Cidr(ip_block.into().node, Node::Int(count.into()), Node::Int(cidr_bits.into())))
    }
}

impl<T> Val<List<T>> {
    /// A literal list from values convertible to `Val<T>`.
    pub fn list<I: Into<Val<T>>>(items: impl IntoIterator<Item = I>) -> Self {
        Val::raw(Node::List(items.into_iter().map(|i| i.into().node).collect()))
    }
}

impl<T> Val<Map<T>> {
    /// A literal string-keyed map (sorted by key in the output).
    pub fn map<K: Into<String>, V: Into<Val<T>>>(entries: impl IntoIterator<Item = (K, V)>) -> Self {
        let m: BTreeMap<String, Node> = entries.into_iter().map(|(k, v)| (k.into(), v.into().node)).collect();
        Val::raw(Node::Map(m.into_iter().collect()))
    }
}

impl<T, K: Into<String>, V: Into<Val<T>>> FromIterator<(K, V)> for Val<Map<T>> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Val::map(iter)
    }
}

impl<T, V: Into<Val<T>>> FromIterator<V> for Val<List<T>> {
    fn from_iter<I: IntoIterator<Item = V>>(iter: I) -> Self {
        Val::list(iter)
    }
}

/// Pseudo parameters (`Ref: AWS::Region` ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pseudo {
    AccountId,
    Region,
    Partition,
    StackName,
    StackId,
    UrlSuffix,
    NotificationArns,
}

impl Pseudo {
    pub const ALL: [Pseudo; 7] = [
        Pseudo::AccountId,
        Pseudo::Region,
        Pseudo::Partition,
        Pseudo::StackName,
        Pseudo::StackId,
        Pseudo::UrlSuffix,
        Pseudo::NotificationArns,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
        }
    }
    /// The pseudo parameter as a string value.
    pub fn val(self) -> Val<String> {
        Val::ref_raw(self.name())
    }
    /// True for every name `Ref` may take without a declaration (`AWS::NoValue` included).
    pub fn is_pseudo(name: &str) -> bool {
        name == "AWS::NoValue" || Pseudo::ALL.iter().any(|p| p.name() == name)
    }
}

/// `Ref: AWS::Region`.
pub fn region() -> Val<String> {
    Pseudo::Region.val()
}
/// `Ref: AWS::AccountId`.
pub fn account_id() -> Val<String> {
    Pseudo::AccountId.val()
}
/// `Ref: AWS::Partition`.
pub fn partition() -> Val<String> {
    Pseudo::Partition.val()
}
/// `Ref: AWS::StackName`.
pub fn stack_name() -> Val<String> {
    Pseudo::StackName.val()
}
/// `Ref: AWS::URLSuffix`.
pub fn url_suffix() -> Val<String> {
    Pseudo::UrlSuffix.val()
}

// ---- conversions -------------------------------------------------------------------------------------------------

impl<T> From<T> for Val<T>
where
    T: ToNode,
{
    fn from(v: T) -> Self {
        Val::raw(v.to_node())
    }
}

impl From<&str> for Val<String> {
    fn from(v: &str) -> Self {
        Val::raw(Node::Str(v.to_owned()))
    }
}

impl From<&String> for Val<String> {
    fn from(v: &String) -> Self {
        Val::raw(Node::Str(v.clone()))
    }
}

impl From<i32> for Val<i64> {
    fn from(v: i32) -> Self {
        Val::raw(Node::Int(v.into()))
    }
}

impl From<u32> for Val<i64> {
    fn from(v: u32) -> Self {
        Val::raw(Node::Int(v.into()))
    }
}

impl From<i64> for Val<f64> {
    fn from(v: i64) -> Self {
        Val::raw(Node::Int(v))
    }
}

impl From<i32> for Val<f64> {
    fn from(v: i32) -> Self {
        Val::raw(Node::Int(v.into()))
    }
}

impl<T, const N: usize> From<[Val<T>; N]> for Val<List<T>> {
    fn from(v: [Val<T>; N]) -> Self {
        Val::raw(Node::List(v.into_iter().map(|i| i.node).collect()))
    }
}

impl From<Vec<&str>> for Val<List<String>> {
    fn from(v: Vec<&str>) -> Self {
        Val::raw(Node::List(v.into_iter().map(|s| Node::Str(s.to_owned())).collect()))
    }
}

impl<const N: usize> From<[&str; N]> for Val<List<String>> {
    fn from(v: [&str; N]) -> Self {
        Val::raw(Node::List(v.into_iter().map(|s| Node::Str(s.to_owned())).collect()))
    }
}

impl From<serde_json::Value> for Val<Json> {
    fn from(v: serde_json::Value) -> Self {
        Val::raw(Node::from_json(v))
    }
}

/// Converts a Rust value to its template form. Generated structs and enums implement it.
pub trait ToNode {
    fn to_node(&self) -> Node;
}

impl ToNode for String {
    fn to_node(&self) -> Node {
        Node::Str(self.clone())
    }
}
impl ToNode for bool {
    fn to_node(&self) -> Node {
        Node::Bool(*self)
    }
}
impl ToNode for i64 {
    fn to_node(&self) -> Node {
        Node::Int(*self)
    }
}
impl ToNode for f64 {
    fn to_node(&self) -> Node {
        // Whole numbers print without a fraction, as a person writes them in a template.
        if self.fract() == 0.0 && self.abs() < 9.0e15 { Node::Int(*self as i64) } else { Node::Float(*self) }
    }
}
impl ToNode for Json {
    fn to_node(&self) -> Node {
        self.0.clone()
    }
}
impl ToNode for Node {
    fn to_node(&self) -> Node {
        self.clone()
    }
}
impl<T: ToNode> ToNode for Box<T> {
    fn to_node(&self) -> Node {
        (**self).to_node()
    }
}
impl<T> ToNode for Val<T> {
    fn to_node(&self) -> Node {
        self.node.clone()
    }
}
impl<T: ToNode> ToNode for Vec<T> {
    fn to_node(&self) -> Node {
        Node::List(self.iter().map(ToNode::to_node).collect())
    }
}
impl<T: ToNode> ToNode for BTreeMap<String, T> {
    fn to_node(&self) -> Node {
        Node::Map(self.iter().map(|(k, v)| (k.clone(), v.to_node())).collect())
    }
}

impl From<Box<str>> for Val<String> {
    fn from(v: Box<str>) -> Self {
        Val::raw(Node::Str(v.into()))
    }
}

/// Wraps a struct value in a box (recursive definitions such as WAFv2 statements are boxed).
impl<T: ToNode> From<T> for Val<Box<T>> {
    fn from(v: T) -> Self {
        Val::raw(v.to_node())
    }
}

// ---- building objects --------------------------------------------------------------------------------------------

/// Builds a [`Node::Map`] from optional fields, skipping `None`: what generated `to_node` bodies use.
#[derive(Default)]
pub struct ObjectBuilder(Vec<(String, Node)>);

impl ObjectBuilder {
    pub fn new() -> Self {
        ObjectBuilder(Vec::new())
    }
    pub fn field<T: ToNode>(mut self, key: &str, v: &T) -> Self {
        self.0.push((key.to_owned(), v.to_node()));
        self
    }
    pub fn opt<T: ToNode>(mut self, key: &str, v: &Option<T>) -> Self {
        if let Some(v) = v {
            self.0.push((key.to_owned(), v.to_node()));
        }
        self
    }
    pub fn build(self) -> Node {
        Node::Map(self.0)
    }
}

// ---- JSON interop ------------------------------------------------------------------------------------------------

impl Node {
    /// Reads plain JSON. Objects that are intrinsic calls (`{"Ref": "X"}`, `{"Fn::GetAtt": [..]}` ...) become
    /// [`Node::Fn`] so that the validator sees references written as JSON too.
    pub fn from_json(v: serde_json::Value) -> Node {
        use serde_json::Value as J;
        match v {
            J::Null => Node::Null,
            J::Bool(b) => Node::Bool(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Node::Int(i),
                None => Node::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Node::Str(s),
            J::Array(a) => Node::List(a.into_iter().map(Node::from_json).collect()),
            J::Object(m) => {
                if m.len() == 1
                    && let Some((k, v)) = m.iter().next()
                    && let Some(f) = Intrinsic::from_json(k, v)
                {
                    return Node::Fn(Box::new(f));
                }
                Node::Map(m.into_iter().map(|(k, v)| (k, Node::from_json(v))).collect())
            }
        }
    }

    /// The value as plain JSON with intrinsics in their template form.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Node::Null => J::Null,
            Node::Bool(b) => J::Bool(*b),
            Node::Int(i) => J::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Node::Str(s) | Node::Unchecked(s) => J::String(s.clone()),
            Node::List(l) => J::Array(l.iter().map(Node::to_json).collect()),
            Node::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Node::Fn(f) => f.to_json(),
        }
    }

    /// The literal string, if this node is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) | Node::Unchecked(s) => Some(s),
            _ => None,
        }
    }

    /// The value of key `k`, if this node is a map that has it.
    pub fn get(&self, k: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(key, _)| key == k).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Mutable access to key `k` of a map, inserting `Null` when absent. `None` when this node is not a map.
    pub fn entry(&mut self, k: &str) -> Option<&mut Node> {
        let Node::Map(m) = self else { return None };
        let i = match m.iter().position(|(key, _)| key == k) {
            Some(i) => i,
            None => {
                m.push((k.to_owned(), Node::Null));
                m.len() - 1
            }
        };
        Some(&mut m[i].1)
    }

    /// Removes key `k` of a map; returns whether it was there.
    pub fn remove(&mut self, k: &str) -> bool {
        let Node::Map(m) = self else { return false };
        let before = m.len();
        m.retain(|(key, _)| key != k);
        m.len() != before
    }

    /// Visits this node and every node below it, depth first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        f(self);
        match self {
            Node::List(l) => l.iter().for_each(|n| n.walk(f)),
            Node::Map(m) => m.iter().for_each(|(_, n)| n.walk(f)),
            Node::Fn(i) => i.children().into_iter().for_each(|n| n.walk(f)),
            _ => {}
        }
    }

    /// True when a `Ref`, `Fn::GetAtt` or `Fn::Sub` below this node names logical id `id`.
    pub fn refers_to(&self, id: &str) -> bool {
        let mut hit = false;
        self.walk(&mut |n| {
            if let Node::Fn(f) = n {
                match &**f {
                    Intrinsic::Ref(t) | Intrinsic::GetAtt(t, _) => hit |= t.logical_id == id,
                    Intrinsic::Sub(s, _) => {
                        hit |= sub_tokens(s).iter().any(|t| split_sub_token(t).0 == id);
                    }
                    _ => {}
                }
            }
        });
        hit
    }

    /// Rewrites every node bottom-up with `f` (used to replace references across stacks).
    pub fn rewrite(&mut self, f: &mut dyn FnMut(&mut Node)) {
        match self {
            Node::List(l) => l.iter_mut().for_each(|n| n.rewrite(f)),
            Node::Map(m) => m.iter_mut().for_each(|(_, n)| n.rewrite(f)),
            Node::Fn(i) => i.children_mut().into_iter().for_each(|n| n.rewrite(f)),
            _ => {}
        }
        f(self);
    }
}

impl Intrinsic {
    /// The argument nodes of the call.
    pub fn children(&self) -> Vec<&Node> {
        match self {
            Intrinsic::Ref(_) | Intrinsic::GetAtt(..) => vec![],
            Intrinsic::Sub(_, vars) => vars.iter().map(|(_, v)| v).collect(),
            Intrinsic::Join(_, l) | Intrinsic::Split(_, l) | Intrinsic::GetAZs(l) => vec![l],
            Intrinsic::Select(i, l) => vec![i, l],
            Intrinsic::Cidr(a, b, c) => vec![a, b, c],
            Intrinsic::If(_, a, b) => vec![a, b],
            Intrinsic::ImportValue(v) | Intrinsic::Base64(v) => vec![v],
            Intrinsic::GetStackOutput { stack_name, output_name, region, role_arn } => {
                let mut v = vec![stack_name, output_name];
                v.extend(region.iter());
                v.extend(role_arn.iter());
                v
            }
            Intrinsic::FindInMap(_, a, b) => vec![a, b],
        }
    }

    fn children_mut(&mut self) -> Vec<&mut Node> {
        match self {
            Intrinsic::Ref(_) | Intrinsic::GetAtt(..) => vec![],
            Intrinsic::Sub(_, vars) => vars.iter_mut().map(|(_, v)| v).collect(),
            Intrinsic::Join(_, l) | Intrinsic::Split(_, l) | Intrinsic::GetAZs(l) => vec![l],
            Intrinsic::Select(i, l) => vec![i, l],
            Intrinsic::Cidr(a, b, c) => vec![a, b, c],
            Intrinsic::If(_, a, b) => vec![a, b],
            Intrinsic::ImportValue(v) | Intrinsic::Base64(v) => vec![v],
            Intrinsic::GetStackOutput { stack_name, output_name, region, role_arn } => {
                let mut v = vec![stack_name, output_name];
                v.extend(region.iter_mut());
                v.extend(role_arn.iter_mut());
                v
            }
            Intrinsic::FindInMap(_, a, b) => vec![a, b],
        }
    }

    /// The function's name as written in a template.
    pub fn name(&self) -> &'static str {
        match self {
            Intrinsic::Ref(_) => "Ref",
            Intrinsic::GetAtt(..) => "Fn::GetAtt",
            Intrinsic::Sub(..) => "Fn::Sub",
            Intrinsic::Join(..) => "Fn::Join",
            Intrinsic::Select(..) => "Fn::Select",
            Intrinsic::Split(..) => "Fn::Split",
            Intrinsic::GetAZs(_) => "Fn::GetAZs",
            Intrinsic::Cidr(..) => "Fn::Cidr",
            Intrinsic::If(..) => "Fn::If",
            Intrinsic::ImportValue(_) => "Fn::ImportValue",
            Intrinsic::GetStackOutput { .. } => "Fn::GetStackOutput",
            Intrinsic::Base64(_) => "Fn::Base64",
            Intrinsic::FindInMap(..) => "Fn::FindInMap",
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value as J, json};
        let body = match self {
            Intrinsic::Ref(t) => J::String(t.logical_id.clone()),
            Intrinsic::GetAtt(t, a) => json!([t.logical_id, a]),
            Intrinsic::Sub(s, vars) if vars.is_empty() => J::String(s.clone()),
            Intrinsic::Sub(s, vars) => {
                let m: serde_json::Map<String, J> = vars.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
                json!([s, m])
            }
            Intrinsic::Join(sep, l) => json!([sep, l.to_json()]),
            Intrinsic::Select(i, l) => json!([i.to_json(), l.to_json()]),
            Intrinsic::Split(sep, s) => json!([sep, s.to_json()]),
            Intrinsic::GetAZs(r) => r.to_json(),
            Intrinsic::Cidr(a, b, c) => json!([a.to_json(), b.to_json(), c.to_json()]),
            Intrinsic::If(c, a, b) => json!([c, a.to_json(), b.to_json()]),
            Intrinsic::ImportValue(v) | Intrinsic::Base64(v) => v.to_json(),
            Intrinsic::GetStackOutput { stack_name, output_name, region, role_arn } => {
                let mut m = serde_json::Map::new();
                m.insert("StackName".into(), stack_name.to_json());
                m.insert("OutputName".into(), output_name.to_json());
                if let Some(r) = region {
                    m.insert("Region".into(), r.to_json());
                }
                if let Some(r) = role_arn {
                    m.insert("RoleArn".into(), r.to_json());
                }
                J::Object(m)
            }
            Intrinsic::FindInMap(m, a, b) => json!([m, a.to_json(), b.to_json()]),
        };
        let mut m = serde_json::Map::new();
        m.insert(self.name().to_owned(), body);
        J::Object(m)
    }

    /// Recognises an intrinsic call written as JSON. `None` for anything else (it stays a plain map).
    fn from_json(key: &str, v: &serde_json::Value) -> Option<Intrinsic> {
        use serde_json::Value as J;
        let node = |v: &J| Node::from_json(v.clone());
        let s = |v: &J| v.as_str().map(str::to_owned);
        Some(match (key, v) {
            ("Ref", J::String(id)) => Intrinsic::Ref(Target::local(id.clone())),
            ("Fn::GetAtt", J::Array(a)) if a.len() == 2 => Intrinsic::GetAtt(Target::local(s(&a[0])?), s(&a[1])?),
            ("Fn::GetAtt", J::String(dotted)) => {
                let (id, attr) = dotted.split_once('.')?;
                Intrinsic::GetAtt(Target::local(id), attr.to_owned())
            }
            ("Fn::Sub", J::String(t)) => Intrinsic::Sub(t.clone(), vec![]),
            ("Fn::Sub", J::Array(a)) if a.len() == 2 => {
                let vars = a[1].as_object()?.iter().map(|(k, v)| (k.clone(), node(v))).collect();
                Intrinsic::Sub(s(&a[0])?, vars)
            }
            ("Fn::Join", J::Array(a)) if a.len() == 2 => Intrinsic::Join(s(&a[0])?, node(&a[1])),
            ("Fn::Select", J::Array(a)) if a.len() == 2 => Intrinsic::Select(node(&a[0]), node(&a[1])),
            ("Fn::Split", J::Array(a)) if a.len() == 2 => Intrinsic::Split(s(&a[0])?, node(&a[1])),
            ("Fn::GetAZs", v) => Intrinsic::GetAZs(node(v)),
            ("Fn::Cidr", J::Array(a)) if a.len() == 3 => Intrinsic::Cidr(node(&a[0]), node(&a[1]), node(&a[2])),
            ("Fn::If", J::Array(a)) if a.len() == 3 => Intrinsic::If(s(&a[0])?, node(&a[1]), node(&a[2])),
            ("Fn::ImportValue", v) => Intrinsic::ImportValue(node(v)),
            ("Fn::Base64", v) => Intrinsic::Base64(node(v)),
            ("Fn::FindInMap", J::Array(a)) if a.len() == 3 => Intrinsic::FindInMap(s(&a[0])?, node(&a[1]), node(&a[2])),
            ("Fn::GetStackOutput", J::Object(m)) => Intrinsic::GetStackOutput {
                stack_name: node(m.get("StackName")?),
                output_name: node(m.get("OutputName")?),
                region: m.get("Region").map(node),
                role_arn: m.get("RoleArn").map(node),
            },
            _ => return None,
        })
    }
}

impl Cond {
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Cond::Equals(a, b) => json!({"Fn::Equals": [a.to_json(), b.to_json()]}),
            Cond::And(c) => json!({"Fn::And": c.iter().map(Cond::to_json).collect::<Vec<_>>()}),
            Cond::Or(c) => json!({"Fn::Or": c.iter().map(Cond::to_json).collect::<Vec<_>>()}),
            Cond::Not(c) => json!({"Fn::Not": [c.to_json()]}),
            Cond::Named(n) => json!({"Condition": n}),
        }
    }

    /// Visits every value node of the condition tree.
    pub fn walk_nodes<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        match self {
            Cond::Equals(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Cond::And(c) | Cond::Or(c) => c.iter().for_each(|c| c.walk_nodes(f)),
            Cond::Not(c) => c.walk_nodes(f),
            Cond::Named(_) => {}
        }
    }

    /// Names of other conditions this one uses.
    pub fn named_refs(&self, out: &mut Vec<String>) {
        match self {
            Cond::Named(n) => out.push(n.clone()),
            Cond::And(c) | Cond::Or(c) => c.iter().for_each(|c| c.named_refs(out)),
            Cond::Not(c) => c.named_refs(out),
            Cond::Equals(..) => {}
        }
    }
}

// ---- Fn::Sub strings ---------------------------------------------------------------------------------------------

/// The `${...}` references of a `Fn::Sub` string (`${!Literal}` is an escape, not a reference).
pub(crate) fn sub_tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let token = after[..end].trim();
        if !token.starts_with('!') && !token.is_empty() {
            out.push(token);
        }
        rest = &after[end + 1..];
    }
    out
}

/// A `Fn::Sub` reference split at its first dot: `Table.Arn` is attribute `Arn` of `Table` (a `Fn::GetAtt`),
/// `AWS::Region` or `Param` a plain `Ref`.
pub(crate) fn split_sub_token(token: &str) -> (&str, Option<&str>) {
    match token.split_once('.') {
        Some((head, attribute)) => (head, Some(attribute)),
        None => (token, None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sub_tokens_are_the_references_of_a_sub_string() {
        fn check(input: &str, expected: &[&str]) {
            assert_eq!(sub_tokens(input), expected, "Fn::Sub {input:?}");
        }
        check("", &[]);
        check("no references", &[]);
        check("${Table}", &["Table"]);
        check("${Table.Arn}", &["Table.Arn"]);
        check("arn:${AWS::Partition}:s3:::${Bucket}/*", &["AWS::Partition", "Bucket"]);
        check("${A}${B}", &["A", "B"]);
        check("${ Table }", &["Table"]);
        // `${!Name}` writes a literal `${Name}`.
        check("${!Literal}", &[]);
        check("${!Literal}-${Real}", &["Real"]);
        check("${}", &[]);
        check("${   }", &[]);
        check("${Unclosed", &[]);
        check("${A}-${Unclosed", &["A"]);
        check("$Table {Table}", &[]);
        check("$${A}", &["A"]);
        check("}${A}{", &["A"]);
        // The first closing brace ends a reference.
        check("${A${B}", &["A${B"]);
    }

    #[test]
    fn a_sub_token_splits_at_its_first_dot() {
        fn check(token: &str, expected: (&str, Option<&str>)) {
            assert_eq!(split_sub_token(token), expected, "token {token:?}");
        }
        check("Table", ("Table", None));
        check("AWS::Region", ("AWS::Region", None));
        check("Table.Arn", ("Table", Some("Arn")));
        check("Cache.Endpoint.Address", ("Cache", Some("Endpoint.Address")));
        check("Table.", ("Table", Some("")));
        check(".Arn", ("", Some("Arn")));
    }

    fn get_att(id: &str, attribute: &str) -> Node {
        Node::Fn(Box::new(Intrinsic::GetAtt(Target::local(id), attribute.to_owned())))
    }

    fn ref_(id: &str) -> Node {
        Node::Fn(Box::new(Intrinsic::Ref(Target::local(id))))
    }

    fn func(i: Intrinsic) -> Node {
        Node::Fn(Box::new(i))
    }

    fn plain(v: serde_json::Value) -> Node {
        let serde_json::Value::Object(m) = v else { return Node::Null };
        Node::Map(m.into_iter().map(|(k, v)| (k, Node::from_json(v))).collect())
    }

    #[test]
    fn intrinsics_written_as_json_are_recognised() {
        fn check(input: serde_json::Value, expected: Node) {
            assert_eq!(Node::from_json(input.clone()), expected, "{input}");
        }
        check(json!({"Ref": "Table"}), ref_("Table"));
        check(json!({"Ref": "AWS::Region"}), ref_("AWS::Region"));
        check(json!({"Fn::GetAtt": ["Table", "Arn"]}), get_att("Table", "Arn"));
        check(json!({"Fn::GetAtt": "Table.Arn"}), get_att("Table", "Arn"));
        check(json!({"Fn::GetAtt": "Cache.Endpoint.Address"}), get_att("Cache", "Endpoint.Address"));
        check(json!({"Fn::GetAtt": ["Cache", "Endpoint.Address"]}), get_att("Cache", "Endpoint.Address"));
        check(json!({"Fn::Sub": "${Table}-x"}), func(Intrinsic::Sub("${Table}-x".into(), vec![])));
        check(
            json!({"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]}),
            func(Intrinsic::Sub("${A}".into(), vec![("A".into(), ref_("B"))])),
        );
        check(
            json!({"Fn::Join": ["", ["a", {"Ref": "B"}]]}),
            func(Intrinsic::Join(String::new(), Node::List(vec![Node::Str("a".into()), ref_("B")]))),
        );
        check(
            json!({"Fn::FindInMap": ["M", "k", {"Ref": "AWS::Region"}]}),
            func(Intrinsic::FindInMap("M".into(), Node::Str("k".into()), ref_("AWS::Region"))),
        );
        check(
            json!({"Fn::GetStackOutput": {"StackName": "s", "OutputName": "o"}}),
            func(Intrinsic::GetStackOutput {
                stack_name: Node::Str("s".into()),
                output_name: Node::Str("o".into()),
                region: None,
                role_arn: None,
            }),
        );
        check(json!({"Fn::Base64": "x"}), func(Intrinsic::Base64(Node::Str("x".into()))));
        check(json!({"Fn::GetAZs": ""}), func(Intrinsic::GetAZs(Node::Str(String::new()))));
        // Anything else stays a plain object.
        check(json!({"Ref": 1}), plain(json!({"Ref": 1})));
        check(json!({"Fn::GetAtt": "NoDot"}), plain(json!({"Fn::GetAtt": "NoDot"})));
        check(json!({"Fn::GetAtt": ["Table"]}), plain(json!({"Fn::GetAtt": ["Table"]})));
        check(json!({"Fn::GetAtt": ["Table", 1]}), plain(json!({"Fn::GetAtt": ["Table", 1]})));
        check(json!({"Fn::Sub": ["${A}", "vars"]}), plain(json!({"Fn::Sub": ["${A}", "vars"]})));
        check(json!({"Fn::Select": [0]}), plain(json!({"Fn::Select": [0]})));
        check(
            json!({"Fn::GetStackOutput": {"StackName": "s"}}),
            plain(json!({"Fn::GetStackOutput": {"StackName": "s"}})),
        );
        check(json!({"Fn::Unknown": "x"}), plain(json!({"Fn::Unknown": "x"})));
        check(json!({"Ref": "A", "Other": 1}), plain(json!({"Ref": "A", "Other": 1})));
    }

    #[test]
    fn recognised_intrinsics_write_back_as_read() {
        fn check(input: serde_json::Value) {
            assert_eq!(Node::from_json(input.clone()).to_json(), input);
        }
        check(json!({"Ref": "Table"}));
        check(json!({"Fn::GetAtt": ["Table", "Arn"]}));
        check(json!({"Fn::Sub": "${Table}"}));
        check(json!({"Fn::Sub": ["${A}", {"A": "v"}]}));
        check(json!({"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}));
        check(json!({"Fn::Cidr": ["10.0.0.0/16", 4, 8]}));
        check(json!({"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}));
        check(json!({"Fn::ImportValue": "export"}));
        check(json!({"Fn::GetStackOutput": {"StackName": "s", "OutputName": "o", "Region": "us-east-1"}}));
    }

    #[test]
    fn refers_to_follows_ref_get_att_and_sub() {
        fn check(node: Node, id: &str, expected: bool) {
            assert_eq!(node.refers_to(id), expected, "{node:?} refers to {id:?}");
        }
        check(ref_("Table"), "Table", true);
        check(ref_("Table"), "Tab", false);
        check(get_att("Table", "Arn"), "Table", true);
        check(Val::<String>::sub("${Table.Arn}/index/*").into_node(), "Table", true);
        check(Val::<String>::sub("${Table}").into_node(), "Table", true);
        check(Val::<String>::sub("${TableArn}").into_node(), "Table", false);
        check(Val::<String>::sub("${!Table}").into_node(), "Table", false);
        check(Node::List(vec![Node::Str("Table".into()), ref_("Queue")]), "Table", false);
        check(Node::Map(vec![("K".into(), Node::List(vec![ref_("Queue")]))]), "Queue", true);
        check(Val::<String>::join("", [Val::ref_raw("Table")]).into_node(), "Table", true);
    }
}
