//! synth end to end on small apps: how every intrinsic and template section renders, and the exact message of
//! every validation error. Resource types here are test-local (`Test::Widget`) so the checks do not depend on the
//! generated layer.

#![allow(clippy::unwrap_used)]

mod layers;

use synth::{
    App, Asset, AssetKind, AttrKind, Attribute, Cond, Doc, DocResource, Handle, Json, Kind, List, Node, Output,
    Parameter, Policy, Prop, Pseudo, RawResource, Resource, ResourceSchema, Rule, Shape, Stack, StackProps,
    StringRules, Target, UpdatePolicy, Val,
};

// ---- a test resource type with a schema --------------------------------------------------------------------------

static SETTINGS: Shape = Shape {
    name: "Settings",
    props: &[Prop { name: "Level", required: true, kind: Kind::Integer { min: None, max: None } }],
    open: false,
};

static WIDGET_PROPS: Shape = Shape {
    name: "Widget",
    props: &[
        Prop {
            name: "Name",
            required: true,
            kind: Kind::String(StringRules {
                enum_values: &[],
                min_len: Some(1),
                max_len: Some(8),
                pattern: Some("^[a-z]+$"),
            }),
        },
        Prop {
            name: "Mode",
            required: false,
            kind: Kind::String(StringRules {
                enum_values: &["FAST", "SLOW"],
                min_len: None,
                max_len: None,
                pattern: None,
            }),
        },
        Prop { name: "Size", required: false, kind: Kind::Integer { min: Some(1), max: Some(10) } },
        Prop { name: "Ratio", required: false, kind: Kind::Number { min: Some(0.0), max: Some(1.0) } },
        Prop { name: "Enabled", required: false, kind: Kind::Boolean },
        Prop {
            name: "Tags",
            required: false,
            kind: Kind::List { item: &Kind::String(StringRules::ANY), min_items: None, max_items: Some(2) },
        },
        Prop { name: "Settings", required: false, kind: Kind::Object(&SETTINGS) },
        Prop { name: "Labels", required: false, kind: Kind::Map { value: &Kind::String(StringRules::ANY) } },
        Prop { name: "Document", required: false, kind: Kind::Json },
    ],
    open: false,
};

static WIDGET: ResourceSchema = ResourceSchema {
    type_name: "Test::Widget",
    doc_url: "https://example.invalid/widget",
    properties: &WIDGET_PROPS,
    attributes: &[
        Attribute { name: "Arn", kind: AttrKind::String },
        Attribute { name: "Endpoint.Address", kind: AttrKind::String },
    ],
    primary_identifier: &["Name"],
    create_only: &["Name"],
    conditional_create_only: &["Settings"],
    write_only: &[],
};

#[derive(Debug, Clone)]
struct Widget(Node);

#[derive(Clone, Debug)]
struct WidgetAttrs(Target);

impl From<Target> for WidgetAttrs {
    fn from(t: Target) -> Self {
        WidgetAttrs(t)
    }
}

impl WidgetAttrs {
    fn attr_arn(&self) -> Val<String> {
        Val::raw(Node::Fn(Box::new(synth::Intrinsic::GetAtt(self.0.clone(), "Arn".into()))))
    }
}

impl Resource for Widget {
    type Attrs = WidgetAttrs;
    fn type_name(&self) -> &str {
        "Test::Widget"
    }
    fn schema(&self) -> Option<&'static ResourceSchema> {
        Some(&WIDGET)
    }
    fn to_properties(&self) -> Node {
        self.0.clone()
    }
}

fn widget(props: serde_json::Value) -> Widget {
    Widget(Node::from_json(props))
}

fn named(name: &str) -> Widget {
    widget(serde_json::json!({ "Name": name }))
}

fn stack(id: &str) -> Stack {
    Stack::new(StackProps::new(id, format!("test-{}", id.to_lowercase()), "eu-west-1", "dev"))
}

/// Synthesizes one stack built by `f` and returns its template.
fn template(f: impl FnOnce(&mut Stack)) -> serde_json::Value {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    f(s);
    let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&out.stacks[0].template).unwrap()
}

/// Synthesizes and returns the error messages (the synth must fail).
fn errors(f: impl FnOnce(&mut Stack)) -> Vec<String> {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    f(s);
    match app.synth() {
        Ok(_) => panic!("synth succeeded; expected errors"),
        Err(e) => e.messages(),
    }
}

/// Asserts the synth fails with exactly `expected` (in any order).
fn check(f: impl FnOnce(&mut Stack), expected: &[&str]) {
    let mut got = errors(f);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(got, want);
}

/// The rendered properties of resource `id` of a template.
fn props<'a>(t: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    &t["Resources"][id]["Properties"]
}

// ---- intrinsics --------------------------------------------------------------------------------------------------

/// Renders a single string-valued expression as the `Document` of a widget.
fn render(v: Val<String>) -> serde_json::Value {
    let t = template(|s| {
        let mut root = s.root();
        root.add("Other", named("other"));
        let p = s.add_parameter::<String>("Env", Parameter::string().with_default("dev"));
        let _ = p;
        s.add_condition("IsProd", Cond::equals(Val::ref_raw("Env"), "prod"));
        s.add_mapping(
            "Sizes",
            [("dev".to_owned(), [("size".to_owned(), Node::Str("small".into()))].into_iter().collect())]
                .into_iter()
                .collect(),
        );
        let mut root = s.root();
        root.add(
            "W",
            Widget(Node::Map(vec![("Name".into(), Node::Str("w".into())), ("Document".into(), v.into_node())])),
        );
    });
    props(&t, "W")["Document"].clone()
}

#[test]
fn ref_and_get_att_render() {
    use serde_json::json;
    assert_eq!(render(Val::ref_raw("Other")), json!({"Ref": "Other"}));
    assert_eq!(render(Val::get_att_raw("Other", "Arn")), json!({"Fn::GetAtt": ["Other", "Arn"]}));
    assert_eq!(
        render(Val::get_att_raw("Other", "Endpoint.Address")),
        json!({"Fn::GetAtt": ["Other", "Endpoint.Address"]})
    );
}

#[test]
fn sub_join_select_split_render() {
    use serde_json::json;
    assert_eq!(
        render(Val::sub("arn:${AWS::Partition}:s3:::${Other}/*")),
        json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Other}/*"})
    );
    assert_eq!(
        render(Val::sub_with("${A}-${B}", [("B", Val::from("b")), ("A", Val::ref_raw("Other"))])),
        json!({"Fn::Sub": ["${A}-${B}", {"A": {"Ref": "Other"}, "B": "b"}]})
    );
    assert_eq!(
        render(Val::join("-", ["a".into(), Val::ref_raw("Other")])),
        json!({"Fn::Join": ["-", ["a", {"Ref": "Other"}]]})
    );
    assert_eq!(
        render(Val::select(1, Val::<List<String>>::split(",", "a,b"))),
        json!({"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]})
    );
    assert_eq!(
        render(Val::select(0, Val::<List<String>>::get_azs(""))),
        json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
    );
    assert_eq!(
        render(Val::select(0, Val::<List<String>>::cidr("10.0.0.0/16", 4, 8))),
        json!({"Fn::Select": [0, {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}]})
    );
    assert_eq!(
        render(Val::join_list(",", Val::<List<String>>::get_azs(""))),
        json!({"Fn::Join": [",", {"Fn::GetAZs": ""}]})
    );
}

#[test]
fn if_import_stack_output_base64_find_in_map_render() {
    use serde_json::json;
    assert_eq!(
        render(Val::if_("IsProd", "big", Val::no_value())),
        json!({"Fn::If": ["IsProd", "big", {"Ref": "AWS::NoValue"}]})
    );
    assert_eq!(render(Val::import_value("shared-vpc-id")), json!({"Fn::ImportValue": "shared-vpc-id"}));
    assert_eq!(
        render(Val::get_stack_output("edge", "AclArn", Some("us-east-1".into()))),
        json!({"Fn::GetStackOutput": {"OutputName": "AclArn", "Region": "us-east-1", "StackName": "edge"}})
    );
    assert_eq!(
        render(Val::get_stack_output("edge", "AclArn", None)),
        json!({"Fn::GetStackOutput": {"OutputName": "AclArn", "StackName": "edge"}})
    );
    assert_eq!(render(Val::base64("#!/bin/sh")), json!({"Fn::Base64": "#!/bin/sh"}));
    assert_eq!(render(Val::find_in_map("Sizes", "dev", "size")), json!({"Fn::FindInMap": ["Sizes", "dev", "size"]}));
}

#[test]
fn pseudo_parameters_render() {
    use serde_json::json;
    for (p, name) in [
        (Pseudo::AccountId, "AWS::AccountId"),
        (Pseudo::Region, "AWS::Region"),
        (Pseudo::Partition, "AWS::Partition"),
        (Pseudo::StackName, "AWS::StackName"),
        (Pseudo::StackId, "AWS::StackId"),
        (Pseudo::UrlSuffix, "AWS::URLSuffix"),
        (Pseudo::NotificationArns, "AWS::NotificationARNs"),
    ] {
        assert_eq!(render(p.val()), json!({ "Ref": name }));
    }
    assert_eq!(render(synth::region()), json!({"Ref": "AWS::Region"}));
    assert_eq!(render(synth::account_id()), json!({"Ref": "AWS::AccountId"}));
    assert_eq!(render(synth::partition()), json!({"Ref": "AWS::Partition"}));
    assert_eq!(render(synth::stack_name()), json!({"Ref": "AWS::StackName"}));
    assert_eq!(render(synth::url_suffix()), json!({"Ref": "AWS::URLSuffix"}));
}

#[test]
fn intrinsics_written_as_json_are_recognised() {
    let n = Node::from_json(
        serde_json::json!({"a": [{"Ref": "X"}, {"Fn::GetAtt": "Y.Arn"}, {"Fn::Sub": ["${Z}", {"Z": "z"}]}]}),
    );
    let mut seen = Vec::new();
    n.walk(&mut |n| {
        if let Node::Fn(f) = n {
            seen.push(f.name());
        }
    });
    assert_eq!(seen, ["Ref", "Fn::GetAtt", "Fn::Sub"]);
    // And they come back out unchanged (the dotted GetAtt in its list form).
    assert_eq!(
        n.to_json(),
        serde_json::json!({"a": [{"Ref": "X"}, {"Fn::GetAtt": ["Y", "Arn"]}, {"Fn::Sub": ["${Z}", {"Z": "z"}]}]})
    );
}

#[test]
fn typed_values_convert() {
    assert_eq!(Val::<i64>::from(5).into_node(), Node::Int(5));
    assert_eq!(Val::<f64>::from(0.5).into_node(), Node::Float(0.5));
    assert_eq!(Val::<f64>::from(2.0).into_node(), Node::Int(2));
    assert_eq!(Val::<bool>::from(true).into_node(), Node::Bool(true));
    assert_eq!(
        Val::<List<String>>::from(["a", "b"]).into_node(),
        Node::List(vec![Node::Str("a".into()), Node::Str("b".into())])
    );
    let m: Val<synth::Map<String>> = [("b", "2"), ("a", "1")].into_iter().collect();
    assert_eq!(
        m.into_node(),
        Node::Map(vec![("a".into(), Node::Str("1".into())), ("b".into(), Node::Str("2".into()))])
    );
    assert_eq!(Val::<Json>::from(serde_json::json!({"k": 1})).into_node(), Node::Map(vec![("k".into(), Node::Int(1))]));
}

// ---- template sections -------------------------------------------------------------------------------------------

#[test]
fn sections_and_resource_attributes_render() {
    use serde_json::json;
    let t = template(|s| {
        let env = s.add_parameter::<String>(
            "Env",
            Parameter::string().with_default("dev").with_allowed_values(["dev", "prod"]).with_description("stage"),
        );
        s.add_condition("IsProd", Cond::equals(env.clone(), "prod"));
        s.add_condition("NotProd", Cond::not(Cond::named("IsProd")));
        s.add_condition(
            "Both",
            Cond::and([Cond::named("IsProd"), Cond::or([Cond::named("NotProd"), Cond::equals("a", "a")])]),
        );
        let mut root = s.root();
        let a = root.add("A", named("a"));
        let b = root.add("B", widget(serde_json::json!({"Name": "b", "Document": {"Ref": "A"}})));
        let e = root.stack_mut().entry_mut(&b);
        e.add_depends_on("A").set_deletion_policy(Policy::Retain).set_update_replace_policy(Policy::Snapshot);
        e.set_condition("IsProd").set_metadata("Owner", Node::Str("team".into()));
        s.add_output(
            "AArn",
            Output::new(a.attr_arn()).with_description("the arn").with_export(Val::sub("${AWS::StackName}-a")),
        );
    });
    assert_eq!(
        t["Parameters"]["Env"],
        json!({"Type": "String", "Default": "dev", "Description": "stage", "AllowedValues": ["dev", "prod"]})
    );
    assert_eq!(t["Conditions"]["IsProd"], json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]}));
    assert_eq!(t["Conditions"]["NotProd"], json!({"Fn::Not": [{"Condition": "IsProd"}]}));
    assert_eq!(
        t["Conditions"]["Both"],
        json!({"Fn::And": [{"Condition": "IsProd"}, {"Fn::Or": [{"Condition": "NotProd"}, {"Fn::Equals": ["a", "a"]}]}]})
    );
    assert_eq!(
        t["Resources"]["B"],
        json!({
            "Type": "Test::Widget",
            "Properties": {"Name": "b", "Document": {"Ref": "A"}},
            "DependsOn": ["A"],
            "Condition": "IsProd",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Snapshot",
            "Metadata": {"Owner": "team"}
        })
    );
    assert_eq!(
        t["Outputs"]["AArn"],
        json!({"Description": "the arn", "Value": {"Fn::GetAtt": ["A", "Arn"]}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-a"}}})
    );
}

#[test]
fn update_policy_renders_between_the_deletion_and_update_replace_policies_and_its_references_are_checked() {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    let mut root = s.root();
    let app_res = root.add("App", named("app"));
    let group = root.add("Group", named("group"));
    let alias = root.add("Alias", named("alias"));
    root.stack_mut().entry_mut(&alias).set_deletion_policy(Policy::Delete).set_update_policy(
        UpdatePolicy::CodeDeployLambdaAliasUpdate {
            application_name: app_res.ref_(),
            deployment_group_name: group.ref_(),
            before_allow_traffic_hook: None,
            after_allow_traffic_hook: None,
        },
    );
    let text = app.synth().unwrap().stacks[0].template.clone();
    let expected = "  \"Alias\": {\n   \"Type\": \"Test::Widget\",\n   \"Properties\": {\n    \"Name\": \"alias\"\n   },\n   \"DeletionPolicy\": \"Delete\",\n   \"UpdatePolicy\": {\n    \"CodeDeployLambdaAliasUpdate\": {\n     \"ApplicationName\": {\n      \"Ref\": \"App\"\n     },\n     \"DeploymentGroupName\": {\n      \"Ref\": \"Group\"\n     }\n    }\n   }\n  },";
    assert!(text.contains(expected), "{text}");

    let messages = errors(|s| {
        let mut root = s.root();
        let alias = root.add("Alias", named("alias"));
        root.stack_mut().entry_mut(&alias).set_update_policy(UpdatePolicy::CodeDeployLambdaAliasUpdate {
            application_name: Val::ref_raw("Missing"),
            deployment_group_name: Val::from("group"),
            before_allow_traffic_hook: None,
            after_allow_traffic_hook: None,
        });
    });
    assert!(messages.iter().any(|m| m.contains("Ref to unknown resource or parameter \"Missing\"")), "{messages:?}");
}

#[test]
fn mappings_render() {
    let t = template(|s| {
        s.add_mapping(
            "Regions",
            [("eu-west-1".to_owned(), [("ami".to_owned(), Node::Str("ami-1".into()))].into_iter().collect())]
                .into_iter()
                .collect(),
        );
        s.root().add(
            "W",
            Widget(Node::Map(vec![
                ("Name".into(), Node::Str("w".into())),
                ("Document".into(), Val::<String>::find_in_map("Regions", synth::region(), "ami").into_node()),
            ])),
        );
    });
    assert_eq!(t["Mappings"], serde_json::json!({"Regions": {"eu-west-1": {"ami": "ami-1"}}}));
}

#[test]
fn template_order_and_format_are_fixed() {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    s.add_output("O", Output::new(Val::<String>::ref_raw("Zeta")));
    let mut root = s.root();
    root.add("Zeta", named("z"));
    root.add("Alpha", named("a"));
    let text = app.synth().unwrap().stacks[0].template.clone();
    let expected = "{\n \"AWSTemplateFormatVersion\": \"2010-09-09\",\n \"Resources\": {\n  \"Alpha\": {\n   \"Type\": \"Test::Widget\",\n   \"Properties\": {\n    \"Name\": \"a\"\n   }\n  },\n  \"Zeta\": {\n   \"Type\": \"Test::Widget\",\n   \"Properties\": {\n    \"Name\": \"z\"\n   }\n  }\n },\n \"Outputs\": {\n  \"O\": {\n   \"Value\": {\n    \"Ref\": \"Zeta\"\n   }\n  }\n }\n}\n";
    assert_eq!(text, expected);
}

#[test]
fn property_overrides_apply_last_and_are_listed_in_metadata() {
    use serde_json::json;
    let t = template(|s| {
        let mut root = s.root();
        let w = root.add("W", widget(json!({"Name": "w", "Tags": ["a", "b"], "Settings": {"Level": 1}})));
        let e = root.stack_mut().entry_mut(&w);
        e.add_property_override("Settings.Level", Node::Int(3));
        e.add_property_override("Labels.team", Node::Str("core".into()));
        e.add_property_override("Tags.1", Node::Str("c".into()));
        e.add_property_deletion_override("Tags.0");
    });
    assert_eq!(
        props(&t, "W"),
        &json!({"Name": "w", "Tags": ["c"], "Settings": {"Level": 3}, "Labels": {"team": "core"}})
    );
    assert_eq!(
        t["Resources"]["W"]["Metadata"]["rcdk:overrides"],
        json!(["Properties.Settings.Level", "Properties.Labels.team", "Properties.Tags.1", "Properties.Tags.0"])
    );
}

#[test]
fn logical_ids_come_from_construct_paths() {
    let t = template(|s| {
        let mut root = s.root();
        let mut orders = root.child("Orders");
        orders.add("Resource", named("a"));
        orders.add("dead-letter", named("b"));
        let mut deep = orders.child("Index");
        deep.add("Default", named("c"));
    });
    let ids: Vec<&String> = t["Resources"].as_object().unwrap().keys().collect();
    assert_eq!(ids, ["Orders", "OrdersDeadLetter", "OrdersIndex"]);
}

#[test]
fn references_across_stacks_become_stack_outputs() {
    use serde_json::json;
    let mut app = App::new("t");
    let mut edge = Stack::new(StackProps::new("Edge", "t-edge", "us-east-1", "dev"));
    let acl: Handle<Widget> = edge.root().add("Acl", named("acl"));
    app.add_stack(edge);
    let regional = app.add_stack(stack("Regional"));
    regional.root().add("Api", widget(json!({"Name": "api"})));
    let api = regional.resource_mut("Api").unwrap();
    api.add_property_override("Document", acl.attr_arn().into_node());
    regional.root().add(
        "Api2",
        Widget(Node::Map(vec![("Name".into(), Node::Str("b".into())), ("Document".into(), acl.ref_().into_node())])),
    );
    let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
    let regional: serde_json::Value = serde_json::from_str(&out.stack("Regional").unwrap().template).unwrap();
    assert_eq!(
        props(&regional, "Api")["Document"],
        json!({"Fn::GetStackOutput": {"OutputName": "AclArn", "Region": "us-east-1", "StackName": "t-edge"}})
    );
    assert_eq!(
        props(&regional, "Api2")["Document"],
        json!({"Fn::GetStackOutput": {"OutputName": "AclRef", "Region": "us-east-1", "StackName": "t-edge"}})
    );
    let edge: serde_json::Value = serde_json::from_str(&out.stack("Edge").unwrap().template).unwrap();
    assert_eq!(edge["Outputs"]["AclArn"]["Value"], json!({"Fn::GetAtt": ["Acl", "Arn"]}));
    assert_eq!(edge["Outputs"]["AclRef"]["Value"], json!({"Ref": "Acl"}));
    assert_eq!(out.stack("Regional").unwrap().dependencies, ["Edge"]);
    assert_eq!(out.manifest.stacks[1].dependencies, ["Edge"]);
}

#[test]
fn manifest_lists_stacks_and_assets() {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    s.use_asset("api");
    s.root().add("W", named("w"));
    app.add_asset(Asset {
        id: "api".into(),
        kind: AssetKind::RustLambda { package: "api".into(), path: "handlers/api".into() },
        hash: "ab".repeat(32),
    });
    let out = app.synth().unwrap();
    let m: serde_json::Value = serde_json::from_str(&out.manifest_json()).unwrap();
    assert_eq!(m["stacks"][0]["assets"], serde_json::json!(["api"]));
    assert_eq!(m["stacks"][0]["requiresS3Upload"], false);
    assert_eq!(m["assets"][0]["kind"], "rust-lambda");
    assert_eq!(m["assets"][0]["hash"], "ab".repeat(32));
}

// ---- validation errors, each with its exact message ---------------------------------------------------------------

#[test]
fn ref_to_unknown_resource() {
    check(
        |s| {
            let mut root = s.root();
            root.add("Table", named("t"));
            root.add(
                "W",
                Widget(Node::Map(vec![
                    ("Name".into(), Node::Str("w".into())),
                    ("Document".into(), Val::<String>::ref_raw("Tabel").into_node()),
                ])),
            );
        },
        &["error: Main/W: Ref to unknown resource or parameter \"Tabel\"; did you mean \"Table\"?"],
    );
}

#[test]
fn get_att_to_unknown_resource_or_attribute() {
    check(
        |s| {
            let mut root = s.root();
            root.add("Table", named("t"));
            root.add("A", widget(serde_json::json!({"Name": "a", "Document": {"Fn::GetAtt": ["Nothing", "Arn"]}})));
            root.add("B", widget(serde_json::json!({"Name": "b", "Document": {"Fn::GetAtt": ["Table", "StreamArn"]}})));
        },
        &[
            "error: Main/A: Fn::GetAtt to unknown resource \"Nothing\"",
            "error: Main/B: Fn::GetAtt of \"Table\".StreamArn: Test::Widget has no attribute \"StreamArn\"; it has: Arn, Endpoint.Address",
        ],
    );
}

#[test]
fn get_att_of_a_parameter() {
    check(
        |s| {
            s.add_parameter::<String>("Env", Parameter::string());
            s.root().add("A", widget(serde_json::json!({"Name": "a", "Document": {"Fn::GetAtt": ["Env", "Arn"]}})));
        },
        &["error: Main/A: Fn::GetAtt of \"Env\".Arn: \"Env\" is a parameter, not a resource; use Ref"],
    );
}

#[test]
fn sub_references_are_checked() {
    check(
        |s| {
            let mut root = s.root();
            root.add("Queue", named("q"));
            root.add("A", widget(serde_json::json!({"Name": "a", "Document": {"Fn::Sub": "${Queue.Arn}/${Queue.Nope}/${Missing}/${!Literal}/${AWS::Region}"}})));
            root.add(
                "B",
                widget(serde_json::json!({"Name": "b", "Document": {"Fn::Sub": ["${Var}-${Var.Attr}", {"Var": "v"}]}})),
            );
        },
        &[
            "error: Main/A: Fn::Sub of \"Queue\".Nope: Test::Widget has no attribute \"Nope\"; it has: Arn, Endpoint.Address",
            "error: Main/A: Fn::Sub to unknown resource or parameter \"Missing\"",
        ],
    );
}

#[test]
fn duplicate_logical_ids() {
    check(
        |s| {
            let mut root = s.root();
            root.child("Orders").add("Table", named("a"));
            root.add("OrdersTable", named("b"));
            root.add("Twice", named("c"));
            root.add("Twice", named("d"));
        },
        &[
            "error: Main/OrdersTable: duplicate logical id \"OrdersTable\": construct paths \"Orders/Table\" and \"OrdersTable\" both map to it; give one of them another id",
            "error: Main/Twice: duplicate logical id \"Twice\": two resources were added at construct path \"Twice\"",
        ],
    );
}

#[test]
fn depends_on_cycles_unknown_and_self() {
    check(
        |s| {
            let mut root = s.root();
            let a = root.add("A", named("a"));
            let b = root.add("B", named("b"));
            let c = root.add("C", named("c"));
            let st = root.stack_mut();
            st.entry_mut(&a).add_depends_on("B");
            st.entry_mut(&b).add_depends_on("C");
            st.entry_mut(&c).add_depends_on("A").add_depends_on("Nope").add_depends_on("C");
        },
        &[
            "error: Main/A: DependsOn cycle: A -> B -> C -> A",
            "error: Main/C: DependsOn names unknown resource \"Nope\"",
            "error: Main/C: DependsOn names the resource itself (\"C\")",
        ],
    );
}

#[test]
fn reference_cycles() {
    check(
        |s| {
            let mut root = s.root();
            root.add("A", widget(serde_json::json!({"Name": "a", "Document": {"Ref": "B"}})));
            let b = root.add("B", named("b"));
            root.stack_mut().entry_mut(&b).add_depends_on("A");
        },
        &["error: Main/A: dependency cycle (DependsOn and references): A -> B -> A"],
    );
}

#[test]
fn missing_required_properties() {
    check(
        |s| {
            let mut root = s.root();
            root.add("A", widget(serde_json::json!({"Settings": {}})));
            root.add("B", Widget(Node::Null));
        },
        &[
            "error: Main/A: missing required property \"Properties.Name\" of Test::Widget",
            "error: Main/A: missing required property \"Properties.Settings.Level\" of Settings",
            "error: Main/B: missing required property \"Properties.Name\" of Test::Widget",
        ],
    );
}

#[test]
fn values_outside_enums_ranges_lengths_and_patterns() {
    check(
        |s| {
            s.root().add(
                "A",
                widget(serde_json::json!({
                    "Name": "TooLongName1",
                    "Mode": "MEDIUM",
                    "Size": 11,
                    "Ratio": 1.5,
                    "Tags": ["a", "b", "c"],
                })),
            );
        },
        &[
            "error: Main/A: property \"Properties.Mode\" is \"MEDIUM\"; allowed: \"FAST\", \"SLOW\" (use Val::unchecked for a value newer than the spec)",
            "error: Main/A: property \"Properties.Name\" is \"TooLongName1\"... (12 characters); at most 8 allowed",
            "error: Main/A: property \"Properties.Name\" is \"TooLongName1\", which does not match the pattern ^[a-z]+$",
            "error: Main/A: property \"Properties.Ratio\" is 1.5; allowed range is 0..=1",
            "error: Main/A: property \"Properties.Size\" is 11; allowed range is 1..=10",
            "error: Main/A: property \"Properties.Tags\" has 3 items; at most 2 allowed",
        ],
    );
}

#[test]
fn unchecked_values_pass_the_enum() {
    let t = template(|s| {
        s.root().add(
            "A",
            Widget(Node::Map(vec![
                ("Name".into(), Node::Str("a".into())),
                ("Mode".into(), Val::<String>::unchecked("TURBO").into_node()),
            ])),
        );
    });
    assert_eq!(props(&t, "A")["Mode"], "TURBO");
}

#[test]
fn wrong_types_unknown_properties_and_null() {
    check(
        |s| {
            s.root().add(
                "A",
                widget(serde_json::json!({
                    "Name": ["a"],
                    "Size": "big",
                    "Enabled": "yes",
                    "Tags": "a",
                    "Settings": 3,
                    "Labels": [],
                    "Nmae": "x",
                    "Ratio": null,
                })),
            );
        },
        &[
            "error: Main/A: property \"Properties.Enabled\" must be a boolean, got a string",
            "error: Main/A: property \"Properties.Labels\" must be an object, got a list",
            "error: Main/A: property \"Properties.Name\" must be a string, got a list",
            "error: Main/A: property \"Properties.Ratio\" is null; leave it out instead",
            "error: Main/A: property \"Properties.Settings\" must be an object (Settings), got a number",
            "error: Main/A: property \"Properties.Size\" must be an integer, got \"big\"",
            "error: Main/A: property \"Properties.Tags\" must be a list, got a string",
            "error: Main/A: unknown property \"Properties.Nmae\" of Test::Widget; did you mean \"Name\"?",
        ],
    );
}

#[test]
fn both_branches_of_if_are_checked() {
    check(
        |s| {
            s.add_condition("C", Cond::equals("a", "b"));
            s.root().add(
                "A",
                widget(serde_json::json!({"Name": "a", "Size": {"Fn::If": ["C", 50, {"Ref": "AWS::NoValue"}]}})),
            );
        },
        &["error: Main/A: property \"Properties.Size\" is 50; allowed range is 1..=10"],
    );
}

#[test]
fn conditions_mappings_and_select_are_checked() {
    check(
        |s| {
            s.add_parameter::<String>("Env", Parameter::string());
            s.add_condition("IsProd", Cond::equals(Val::ref_raw("Env"), "prod"));
            s.add_condition("Loop1", Cond::not(Cond::named("Loop2")));
            s.add_condition("Loop2", Cond::not(Cond::named("Loop1")));
            s.add_condition("Bad", Cond::and([Cond::named("Nope"), Cond::equals(Val::ref_raw("Table"), "x")]));
            s.add_mapping(
                "M",
                [("k".to_owned(), [("v".to_owned(), Node::Int(1))].into_iter().collect())].into_iter().collect(),
            );
            let mut root = s.root();
            let t = root.add(
                "Table",
                widget(serde_json::json!({"Name": "t", "Document": [
                    {"Fn::If": ["IsProdd", "a", "b"]},
                    {"Fn::FindInMap": ["Nope", "k", "v"]},
                    {"Fn::FindInMap": ["M", "x", "v"]},
                    {"Fn::FindInMap": ["M", "k", "y"]},
                    {"Fn::Select": [2, ["a", "b"]]}
                ]})),
            );
            root.stack_mut().entry_mut(&t).set_condition("Missing");
            s.add_output(
                "O",
                Output { condition: Some("Gone".into()), ..Output::new(Val::<String>::ref_raw("Table")) },
            );
        },
        &[
            "error: Main/Conditions/Bad: condition \"Bad\" refers to resource \"Table\"; conditions may refer only to parameters and pseudo parameters",
            "error: Main/Conditions/Bad: condition \"Bad\" uses unknown condition \"Nope\"",
            "error: Main/Conditions/Loop1: condition cycle: Loop1 -> Loop2 -> Loop1",
            "error: Main/Outputs/O: output condition \"Gone\" is not declared in Conditions",
            "error: Main/Table: Fn::FindInMap names unknown mapping \"Nope\"",
            "error: Main/Table: Fn::FindInMap: mapping \"M\" has no key \"y\" under \"k\"",
            "error: Main/Table: Fn::FindInMap: mapping \"M\" has no top-level key \"x\"",
            "error: Main/Table: Fn::If names unknown condition \"IsProdd\"; did you mean \"IsProd\"?",
            "error: Main/Table: Fn::Select index 2 is outside the list of 2 items",
            "error: Main/Table: resource condition \"Missing\" is not declared in Conditions",
        ],
    );
}

#[test]
fn more_than_500_resources() {
    check(
        |s| {
            let mut root = s.root();
            for i in 0..501 {
                root.add(&format!("W{i}"), named("w"));
            }
        },
        &[
            "error: Main: stack has 501 resources; CloudFormation allows at most 500 per stack: move stateless parts to another stack",
        ],
    );
}

#[test]
fn too_many_parameters_and_outputs() {
    check(
        |s| {
            for i in 0..201 {
                s.add_parameter::<String>(format!("P{i}"), Parameter::string());
                s.add_output(format!("O{i}"), Output::new(Val::<String>::ref_raw(format!("P{i}"))));
            }
        },
        &[
            "error: Main: stack has 201 outputs; CloudFormation allows at most 200",
            "error: Main: stack has 201 parameters; CloudFormation allows at most 200",
        ],
    );
}

#[test]
fn template_size_limits() {
    // ~60 KB: synthesizes, with a note that deploy must go through S3.
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    let big = "x".repeat(1000);
    for i in 0..60 {
        s.root().add(&format!("W{i}"), widget(serde_json::json!({"Name": "w", "Document": big})));
    }
    let out = app.synth().unwrap();
    let bytes = out.stacks[0].bytes;
    assert!(out.manifest.stacks[0].requires_s3_upload);
    assert_eq!(
        out.notes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "note: Main: template is {bytes} bytes, over the 51200 bytes CloudFormation takes inline: deploy uploads it to S3 first"
        )]
    );
    // Over 1,000,000 bytes: an error.
    let huge = "x".repeat(10_000);
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    for i in 0..101 {
        s.root().add(&format!("W{i}"), widget(serde_json::json!({"Name": "w", "Document": huge})));
    }
    let err = app.synth().unwrap_err();
    let msgs = err.messages();
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].starts_with("error: Main: template is 10"), "{}", msgs[0]);
    assert!(msgs[0].ends_with(" bytes; CloudFormation accepts at most 1000000 bytes: split the stack"), "{}", msgs[0]);
}

#[test]
fn invalid_ids_and_names() {
    check(
        |s| {
            s.add_parameter::<String>("bad-name", Parameter::string());
            s.root().add("9lives", named("a"));
        },
        &[
            "error: Main/9lives: invalid construct id \"9lives\": use 1 to 64 characters from A-Z a-z 0-9 and '-', starting with a letter",
            "error: Main/Parameters/bad-name: parameter name \"bad-name\" is not valid: use 1 to 255 characters from A-Z a-z 0-9",
        ],
    );
}

#[test]
fn override_paths_must_exist() {
    check(
        |s| {
            let mut root = s.root();
            let w = root.add("W", widget(serde_json::json!({"Name": "w", "Tags": ["a"]})));
            let e = root.stack_mut().entry_mut(&w);
            e.add_property_override("Name.Inner", Node::Int(1));
            e.add_property_override("Tags.5", Node::Str("x".into()));
            e.add_property_override("Tags..x", Node::Str("x".into()));
        },
        &[
            "error: Main/W: cannot apply property override \"Name.Inner\": its parent is not an object or list",
            "error: Main/W: property override \"Tags.5\": index 5 is past the end of a list of 1",
            "error: Main/W: property override path \"Tags..x\" has an empty segment; write it as \"A.B.0.C\"",
        ],
    );
}

#[test]
fn app_level_errors() {
    let mut app = App::new("t");
    app.add_stack(stack("Main")).root().add("W", named("w"));
    let other = app.add_stack(Stack::new(StackProps::new("Main", "bad_name!", "eu-west-1", "dev")));
    other.use_asset("ghost");
    let asset = |hash: &str| Asset {
        id: "api".into(),
        kind: AssetKind::RustLambda { package: "api".into(), path: "handlers/api".into() },
        hash: hash.into(),
    };
    app.add_asset(asset("aa"));
    app.add_asset(asset("bb"));
    let mut got = app.synth().unwrap_err().messages();
    got.sort();
    assert_eq!(
        got,
        [
            "error: : asset id \"api\" is registered twice with different contents (aa and bb)",
            "error: Main: duplicate stack id \"Main\"",
            "error: Main: stack name \"bad_name!\" is not valid: use 1 to 128 characters from A-Z a-z 0-9 and '-', starting with a letter",
            "error: Main: stack uses asset \"ghost\", which the app does not register",
        ]
    );
}

#[test]
fn stacks_referencing_each_other_in_a_cycle() {
    let mut app = App::new("t");
    let mut a = stack("A");
    let mut b = stack("B");
    let ha: Handle<Widget> = a.root().add("X", named("x"));
    let hb: Handle<Widget> = b.root().add("Y", named("y"));
    a.resource_mut("X").unwrap().add_property_override("Document", hb.ref_().into_node());
    b.resource_mut("Y").unwrap().add_property_override("Document", ha.ref_().into_node());
    app.add_stack(a);
    app.add_stack(b);
    let got = app.synth().unwrap_err().messages();
    assert_eq!(got, ["error: A: stacks depend on each other in a cycle: A -> B -> A"]);
}

#[test]
fn reference_to_a_stack_outside_the_app() {
    let mut app = App::new("t");
    let mut lost = stack("Lost");
    let h: Handle<Widget> = lost.root().add("X", named("x"));
    let s = app.add_stack(stack("Main"));
    s.root().add(
        "W",
        Widget(Node::Map(vec![("Name".into(), Node::Str("w".into())), ("Document".into(), h.ref_().into_node())])),
    );
    assert_eq!(
        app.synth().unwrap_err().messages(),
        ["error: Main/W: reference to \"X\" in stack \"Lost\", which is not part of the app"]
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let got = errors(|s| {
        let mut root = s.root();
        root.add("A", widget(serde_json::json!({"Mode": "X"})));
        root.add("B", widget(serde_json::json!({"Name": "b", "Document": {"Ref": "Nope"}})));
    });
    assert_eq!(got.len(), 3, "{got:?}");
}

#[test]
fn raw_resources_skip_schema_checks_but_not_references() {
    check(
        |s| {
            s.root()
                .add("Custom", RawResource::new("Custom::Thing", serde_json::json!({"Anything": {"Ref": "Nowhere"}})));
        },
        &["error: Main/Custom: Ref to unknown resource or parameter \"Nowhere\""],
    );
}

// ---- rules and suppressions --------------------------------------------------------------------------------------

struct NeedsSize;

impl Rule for NeedsSize {
    fn id(&self) -> &'static str {
        "TEST-1"
    }
    fn description(&self) -> &'static str {
        "widgets set a size"
    }
    fn applies_to(&self) -> &'static [&'static str] {
        &["Test::Widget"]
    }
    fn check(&self, _: &Doc, r: &DocResource) -> Option<String> {
        r.properties.get("Size").is_none().then(|| "widget has no Size; set one so capacity is planned".to_owned())
    }
}

#[test]
fn rule_findings_fail_synth_unless_suppressed_with_a_reason() {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    let mut root = s.root();
    root.add("Bare", named("a"));
    let ok = root.add("Suppressed", named("b"));
    let sized = root.add("Sized", widget(serde_json::json!({"Name": "c", "Size": 2})));
    let quiet = root.add("NoReason", named("d"));
    let st = root.stack_mut();
    st.entry_mut(&ok).suppress("TEST-1", "fixed-size test double");
    st.entry_mut(&sized).suppress("TEST-1", "not needed");
    st.entry_mut(&quiet).suppress("TEST-1", " ").suppress("TEST-9", "typo");
    let mut got = app.synth_with(&[&NeedsSize]).unwrap_err().messages();
    got.sort();
    assert_eq!(
        got,
        [
            "error: Main/Bare: TEST-1: widget has no Size; set one so capacity is planned",
            "error: Main/NoReason: suppression of TEST-1 has no reason; say why the rule does not apply",
            "error: Main/NoReason: suppression of unknown rule \"TEST-9\"",
            "error: Main/Sized: suppression of TEST-1 is unused: the rule finds nothing here; remove the suppression",
        ]
    );
}

/// A decision for the other scanners is not the pack's to judge: unknown to it and suppressing none of its findings,
/// it passes; without a reason it fails like any other.
#[test]
fn scanner_suppressions_need_a_reason_and_nothing_else() {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    let mut root = s.root();
    let sized = root.add("Sized", widget(serde_json::json!({"Name": "c", "Size": 2})));
    let quiet = root.add("Quiet", widget(serde_json::json!({"Name": "d", "Size": 2})));
    let st = root.stack_mut();
    st.entry_mut(&sized).suppress("scanner:LambdaConcurrency", "bounded by the usage plans");
    st.entry_mut(&quiet).suppress("scanner:LambdaConcurrency", "");
    assert_eq!(
        app.synth_with(&[&NeedsSize]).unwrap_err().messages(),
        ["error: Main/Quiet: suppression of scanner:LambdaConcurrency has no reason; say why the rule does not apply"]
    );
}

#[test]
fn suppressions_show_in_the_template() {
    let mut app = App::new("t");
    let s = app.add_stack(stack("Main"));
    let mut root = s.root();
    let w = root.add("W", named("w"));
    root.stack_mut().entry_mut(&w).suppress("TEST-1", "fixed-size test double");
    let out = app.synth_with(&[&NeedsSize]).unwrap();
    let t: serde_json::Value = serde_json::from_str(&out.stacks[0].template).unwrap();
    assert_eq!(
        t["Resources"]["W"]["Metadata"]["rcdk:suppressions"],
        serde_json::json!([{"id": "TEST-1", "reason": "fixed-size test double"}])
    );
}

#[test]
fn update_behavior_comes_from_the_schema() {
    use synth::UpdateBehavior;
    assert_eq!(WIDGET.update_behavior("Name"), UpdateBehavior::Replacement);
    assert_eq!(WIDGET.update_behavior("Settings"), UpdateBehavior::MayReplace);
    assert_eq!(WIDGET.update_behavior("Size"), UpdateBehavior::InPlace);
}
