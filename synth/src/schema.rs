//! The shape of a resource type, as static tables: what generated code declares and the validator reads.
//!
//! `cargo xtask codegen` writes one [`ResourceSchema`] per resource type from the pinned registry spec, so the
//! validator can check the final properties (after overrides) against required properties, enums, ranges and
//! unknown keys, and can check `Fn::GetAtt` attribute names.

/// One resource type.
#[derive(Debug)]
pub struct ResourceSchema {
    /// `AWS::Service::Type`.
    pub type_name: &'static str,
    /// The CloudFormation documentation page of the type.
    pub doc_url: &'static str,
    /// The shape of `Properties`.
    pub properties: &'static Shape,
    /// Attributes `Fn::GetAtt` can read (the schema's `readOnlyProperties`).
    pub attributes: &'static [Attribute],
    /// What `Ref` returns (the schema's `primaryIdentifier`, as property names).
    pub primary_identifier: &'static [&'static str],
    /// Property paths (`A` or `A/B`) whose change replaces the resource.
    pub create_only: &'static [&'static str],
    /// Property paths whose change may replace the resource, depending on the change.
    pub conditional_create_only: &'static [&'static str],
    /// Properties that are never returned by a read (secrets, inline code).
    pub write_only: &'static [&'static str],
}

impl ResourceSchema {
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    /// How a change to top-level property `name` updates the resource.
    pub fn update_behavior(&self, name: &str) -> UpdateBehavior {
        let hit = |paths: &[&str]| paths.iter().any(|p| *p == name || p.starts_with(&format!("{name}/")));
        if hit(self.create_only) {
            UpdateBehavior::Replacement
        } else if hit(self.conditional_create_only) {
            UpdateBehavior::MayReplace
        } else {
            UpdateBehavior::InPlace
        }
    }
}

/// What changing a property does to the physical resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateBehavior {
    InPlace,
    MayReplace,
    Replacement,
}

/// A `Fn::GetAtt` attribute: dotted names (`Endpoint.Address`) are written as in templates.
#[derive(Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: AttrKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    String,
    Integer,
    Number,
    Boolean,
    List,
    Json,
}

/// An object: its properties and whether keys beyond them are allowed.
#[derive(Debug)]
pub struct Shape {
    /// The definition's name (for messages); the resource type's short name at the top level.
    pub name: &'static str,
    pub props: &'static [Prop],
    /// `true` when the schema allows additional properties (then unknown keys are not reported).
    pub open: bool,
}

impl Shape {
    pub fn prop(&self, name: &str) -> Option<&'static Prop> {
        self.props.iter().find(|p| p.name == name)
    }
}

#[derive(Debug)]
pub struct Prop {
    pub name: &'static str,
    pub required: bool,
    pub kind: Kind,
}

/// The type of a value and the cheap constraints worth checking at synth.
#[derive(Debug)]
pub enum Kind {
    String(StringRules),
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    List {
        item: &'static Kind,
        min_items: Option<u32>,
        max_items: Option<u32>,
    },
    /// An object with arbitrary keys whose values are of one kind.
    Map {
        value: &'static Kind,
    },
    Object(&'static Shape),
    /// Free-form JSON (a policy document, `format: json`, `["object","string"]`).
    Json,
}

#[derive(Debug)]
pub struct StringRules {
    pub enum_values: &'static [&'static str],
    pub min_len: Option<u32>,
    pub max_len: Option<u32>,
    /// An ECMA-262 pattern from the spec; checked when the Rust `regex-lite` dialect accepts it.
    pub pattern: Option<&'static str>,
}

impl StringRules {
    pub const ANY: StringRules = StringRules { enum_values: &[], min_len: None, max_len: None, pattern: None };
}

#[cfg(test)]
mod tests {
    use super::*;

    static EMPTY: Shape = Shape { name: "Widget", props: &[], open: false };
    static WIDGET: ResourceSchema = ResourceSchema {
        type_name: "Test::Widget",
        doc_url: "",
        properties: &EMPTY,
        attributes: &[],
        primary_identifier: &[],
        create_only: &["Name", "Key/Type"],
        conditional_create_only: &["Settings"],
        write_only: &[],
    };

    #[test]
    fn update_behavior_matches_whole_top_level_names() {
        fn check(name: &str, expected: UpdateBehavior) {
            assert_eq!(WIDGET.update_behavior(name), expected, "property {name:?}");
        }
        check("Name", UpdateBehavior::Replacement);
        check("Key", UpdateBehavior::Replacement);
        check("Settings", UpdateBehavior::MayReplace);
        check("Size", UpdateBehavior::InPlace);
        check("Nam", UpdateBehavior::InPlace);
        check("NameSuffix", UpdateBehavior::InPlace);
        check("Ke", UpdateBehavior::InPlace);
        check("Type", UpdateBehavior::InPlace);
        check("Key/Type", UpdateBehavior::Replacement);
    }
}
