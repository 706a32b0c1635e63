//! The CloudFormation template model and synthesizer: typed values and intrinsic functions, stacks of resources,
//! a validation pass that reports every problem at once, and deterministic JSON.
//!
//! ```
//! use synth::{App, Stack, StackProps, RawResource, Val};
//!
//! let mut app = App::new("demo");
//! let stack = app.add_stack(Stack::new(StackProps::new("Main", "demo-main", "eu-west-1", "dev")));
//! let mut root = stack.root();
//! let topic = root.add("Alerts", RawResource::new("AWS::SNS::Topic", serde_json::json!({})));
//! let _ = topic.ref_();
//! let out = app.synth().expect("valid");
//! assert!(out.stacks[0].template.contains("\"Alerts\": {\n   \"Type\": \"AWS::SNS::Topic\""));
//! ```
//!
//! **Invariant:** nothing in this crate does IO or reads the clock.

mod app;
pub mod check;
mod diag;
pub mod doc;
mod render;
pub mod schema;
mod stack;
mod template;
pub mod validate;
mod value;

pub use app::{App, Assembly, Asset, AssetKind, MANIFEST_VERSION, Manifest, ManifestStack, StackArtifact};
pub use check::{Rule, SUPPRESSIONS_METADATA_KEY, Suppression};
pub use diag::{Diagnostic, Severity, SynthError};
pub use doc::{Doc, DocResource, OVERRIDES_METADATA_KEY};
pub use stack::{Handle, Scope, Stack, StackProps, logical_id_of};
pub use template::{Mapping, Output, Override, Parameter, Policy, RawAttrs, RawResource, Resource, ResourceEntry};
pub use value::{
    Cond, Intrinsic, Json, List, Map, Node, ObjectBuilder, Pseudo, Target, ToNode, Val, account_id, partition, region,
    stack_name, url_suffix,
};

/// Marker for generated string enums: lets [`Val::unchecked`] pass a value the pinned spec does not list yet.
pub trait StringEnum: ToNode {}

impl StringEnum for String {}

impl<T: StringEnum> Val<T> {
    /// A value outside the pinned spec's enum or pattern, on purpose (e.g. a runtime newer than the spec). The
    /// validator does not check it.
    pub fn unchecked(s: impl Into<String>) -> Self {
        Val::raw(Node::Unchecked(s.into()))
    }
}
