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
//!
//! **Invariant:** the modules form layers and depend downward only, so the crate has no module cycle:
//! `diag` and `value` (nothing below them), then `schema`, `template`, `stack`, `doc`, then `validate`, `check`
//! and `render` (beside each other), then `app`. `tests/layers` fails on an edge that goes up or sideways.
//! Every module is private: each item has one path, the re-export at the crate root.

mod app;
mod check;
mod diag;
mod doc;
mod render;
mod schema;
mod stack;
mod template;
mod validate;
mod value;

pub use app::{App, Assembly, Asset, AssetKind, MANIFEST_VERSION, Manifest, ManifestStack, StackArtifact};
pub use check::Rule;
pub use diag::{Diagnostic, Severity, SynthError};
pub use doc::{Doc, DocResource, OVERRIDES_METADATA_KEY};
pub use schema::{AttrKind, Attribute, Kind, Prop, ResourceSchema, Shape, StringRules, UpdateBehavior};
pub use stack::{Handle, Scope, Stack, StackProps, logical_id_of};
pub use template::{
    Mapping, Output, Override, Parameter, Policy, RawAttrs, RawResource, Resource, ResourceEntry,
    SCANNER_SUPPRESSION_PREFIX, SUPPRESSIONS_METADATA_KEY, Suppression, UpdatePolicy,
};
pub use validate::{
    MAX_INLINE_BYTES, MAX_LOGICAL_ID, MAX_MAPPINGS, MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES, MAX_TEMPLATE_BYTES,
    suggest,
};
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
