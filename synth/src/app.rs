//! The app (stacks and assets) and `synth`: construct tree → one validated JSON template per stack + a manifest.
//!
//! **Invariant:** synth does no IO. It returns strings; the caller writes them. The same app gives the same
//! bytes on every run and machine.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::diag::{Diagnostic, Severity, SynthError};
use crate::doc::Doc;
use crate::stack::Stack;
use crate::template::Output;
use crate::value::{Intrinsic, Node, Target};

/// A file the templates refer to by content hash, built and uploaded by deploy (never during synth).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// Unique id in the app (the handler crate's package name).
    pub id: String,
    #[serde(flatten)]
    pub kind: AssetKind,
    /// SHA-256 (hex) of the asset's sources.
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AssetKind {
    /// A Rust crate built into a Lambda zip (`cargo lambda build --release --arm64`).
    #[serde(rename_all = "camelCase")]
    RustLambda {
        /// Cargo package name.
        package: String,
        /// Crate directory relative to the workspace root.
        path: String,
    },
}

impl Asset {
    /// The S3 key the asset is uploaded under: content-addressed, so a change of code is a change of key.
    pub fn s3_key(&self) -> String {
        format!("assets/{}.zip", self.hash)
    }
}

/// An app: the stacks of one deployment unit, and the assets they use.
#[derive(Debug, Default)]
pub struct App {
    pub name: String,
    stacks: Vec<Stack>,
    assets: BTreeMap<String, Asset>,
    diagnostics: Vec<Diagnostic>,
}

impl App {
    pub fn new(name: impl Into<String>) -> Self {
        App { name: name.into(), ..Default::default() }
    }
    /// Adds a stack; returns it for further construction.
    pub fn add_stack(&mut self, stack: Stack) -> &mut Stack {
        self.stacks.push(stack);
        let last = self.stacks.len() - 1;
        &mut self.stacks[last]
    }
    pub fn stacks(&self) -> &[Stack] {
        &self.stacks
    }
    pub fn stack_mut(&mut self, id: &str) -> Option<&mut Stack> {
        self.stacks.iter_mut().find(|s| s.id() == id)
    }
    /// Registers an asset (idempotent for equal assets; a different asset under a used id is an error at synth).
    pub fn add_asset(&mut self, asset: Asset) {
        if let Some(old) = self.assets.get(&asset.id) {
            if old != &asset {
                self.diagnostics.push(Diagnostic::error(
                    "",
                    "",
                    format!(
                        "asset id {:?} is registered twice with different contents ({} and {})",
                        asset.id, old.hash, asset.hash
                    ),
                ));
            }
            return;
        }
        self.assets.insert(asset.id.clone(), asset);
    }
    pub fn assets(&self) -> impl Iterator<Item = &Asset> {
        self.assets.values()
    }

    /// Renders, validates and writes every stack. All errors of all stacks come back together.
    pub fn synth(&self) -> Result<Assembly, SynthError> {
        self.synth_with(&[])
    }

    /// [`App::synth`] plus a rule pack: a finding that is not suppressed fails synth like a validation error.
    pub fn synth_with(&self, rules: &[&dyn crate::check::Rule]) -> Result<Assembly, SynthError> {
        let mut diags: Vec<Diagnostic> = self.diagnostics.clone();
        let mut ids = BTreeSet::new();
        let mut names = BTreeSet::new();
        for s in &self.stacks {
            diags.extend(s.diagnostics.iter().cloned());
            if !ids.insert(s.id()) {
                diags.push(Diagnostic::error(s.id(), "", format!("duplicate stack id {:?}", s.id())));
            }
            if !names.insert((s.region(), s.name())) {
                diags.push(Diagnostic::error(
                    s.id(),
                    "",
                    format!("duplicate stack name {:?} in region {}", s.name(), s.region()),
                ));
            }
            if !valid_stack_name(s.name()) {
                diags.push(Diagnostic::error(
                    s.id(),
                    "",
                    format!("stack name {:?} is not valid: use 1 to 128 characters from A-Z a-z 0-9 and '-', starting with a letter", s.name()),
                ));
            }
            for a in &s.assets {
                if !self.assets.contains_key(a) {
                    diags.push(Diagnostic::error(
                        s.id(),
                        "",
                        format!("stack uses asset {a:?}, which the app does not register"),
                    ));
                }
            }
        }
        let mut docs: Vec<Doc> = self.stacks.iter().map(|s| Doc::render(s, &mut diags)).collect();
        let deps = self.link_stacks(&mut docs, &mut diags);
        let pack = crate::check::Pack::new(rules);
        let finished = finish_all(&docs, &pack);
        let mut artifacts = Vec::with_capacity(docs.len());
        for ((stack, doc), (found, template)) in self.stacks.iter().zip(&docs).zip(finished) {
            diags.extend(found);
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &doc.resources {
                *counts.entry(&r.type_name).or_default() += 1;
            }
            let by_type = counts.into_iter().map(|(t, n)| (t.to_owned(), n)).collect();
            artifacts.push(StackArtifact {
                id: stack.id().to_owned(),
                name: stack.name().to_owned(),
                region: stack.region().to_owned(),
                account: stack.props.account.clone(),
                stage: stack.props.stage.clone(),
                template_file: format!("{}.template.json", stack.id()),
                bytes: template.len(),
                resources: doc.resources.len(),
                resources_by_type: by_type,
                dependencies: deps.get(stack.id()).map(|d| d.iter().cloned().collect()).unwrap_or_default(),
                assets: stack.assets.clone(),
                tags: stack.props.tags.clone(),
                termination_protection: stack.props.termination_protection,
                template,
            });
        }
        diags.sort();
        diags.dedup();
        if diags.iter().any(|d| d.severity == Severity::Error) {
            return Err(SynthError { diagnostics: diags });
        }
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            app: self.name.clone(),
            stacks: artifacts.iter().map(ManifestStack::from).collect(),
            assets: self.assets.values().cloned().collect(),
        };
        Ok(Assembly { stacks: artifacts, manifest, notes: diags })
    }

    /// Replaces every reference into another stack with `Fn::GetStackOutput` of an output added to that stack,
    /// and returns the dependencies between stacks this creates (a cycle is an error).
    fn link_stacks(&self, docs: &mut [Doc], diags: &mut Vec<Diagnostic>) -> BTreeMap<String, BTreeSet<String>> {
        let index: BTreeMap<&str, usize> = self.stacks.iter().enumerate().map(|(i, s)| (s.id(), i)).collect();
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        // (owner stack index) -> output name -> value
        let mut exports: BTreeMap<usize, BTreeMap<String, Node>> = BTreeMap::new();
        for (i, doc) in docs.iter_mut().enumerate() {
            let here = self.stacks[i].id().to_owned();
            let region = self.stacks[i].region().to_owned();
            let mut rewrite = |n: &mut Node, path: &str, diags: &mut Vec<Diagnostic>| {
                n.rewrite(&mut |n| {
                    let Node::Fn(f) = n else { return };
                    let (target, attr) = match &**f {
                        Intrinsic::Ref(t) => (t, None),
                        Intrinsic::GetAtt(t, a) => (t, Some(a.clone())),
                        _ => return,
                    };
                    let Some(owner) = target.stack.as_deref() else { return };
                    if owner == here {
                        return;
                    }
                    let Some(&j) = index.get(owner) else {
                        diags.push(Diagnostic::error(
                            &here,
                            path,
                            format!(
                                "reference to {:?} in stack {owner:?}, which is not part of the app",
                                target.logical_id
                            ),
                        ));
                        return;
                    };
                    let output = export_name(&target.logical_id, attr.as_deref());
                    let local = Target { logical_id: target.logical_id.clone(), stack: None };
                    let value = match attr {
                        Some(a) => Node::Fn(Box::new(Intrinsic::GetAtt(local, a))),
                        None => Node::Fn(Box::new(Intrinsic::Ref(local))),
                    };
                    exports.entry(j).or_default().insert(output.clone(), value);
                    deps.entry(here.clone()).or_default().insert(owner.to_owned());
                    let owner_stack = &self.stacks[j];
                    *n = Node::Fn(Box::new(Intrinsic::GetStackOutput {
                        stack_name: Node::Str(owner_stack.name().to_owned()),
                        output_name: Node::Str(output),
                        region: (owner_stack.region() != region).then(|| Node::Str(owner_stack.region().to_owned())),
                        role_arn: None,
                    }));
                });
            };
            for r in &mut doc.resources {
                let path = r.path.clone();
                rewrite(&mut r.properties, &path, diags);
            }
            for (name, o) in doc.outputs.iter_mut() {
                rewrite(&mut o.value, &format!("Outputs/{name}"), diags);
            }
        }
        for (j, outs) in exports {
            for (name, value) in outs {
                let desc = "read by other stacks of the app with Fn::GetStackOutput".to_string();
                docs[j].outputs.entry(name).or_insert(Output {
                    value,
                    description: Some(desc),
                    export_name: None,
                    condition: None,
                });
            }
        }
        // A cycle between stacks cannot deploy in any order.
        for start in deps.keys() {
            let mut seen = vec![start.clone()];
            if let Some(cycle) = stack_cycle(start, &deps, &mut seen)
                && cycle.first().map(String::as_str) == cycle.iter().min().map(String::as_str)
            {
                diags.push(Diagnostic::error(
                    start,
                    "",
                    format!("stacks depend on each other in a cycle: {}", cycle.join(" -> ")),
                ));
            }
        }
        deps
    }
}

/// Fewest resources in an app for which [`finish_all`] may split its stacks over two threads.
const PARALLEL_MIN_RESOURCES: usize = 1_000;

/// Validates, checks and writes every linked template: for each, its diagnostics and its JSON text.
///
/// Stacks are independent by now, so `RCDK_SYNTH_THREADS=2` splits a large app over two threads, half of its
/// resources each, the results joined in stack order (the same bytes and diagnostics either way). It is not the
/// default: on the 2-core machine of BENCHMARKS.md, shared with other builds, two threads saved nothing measurable
/// on 1,605 and 3,010 resources (issue 12 asks for threads only where measured to pay). Measure again on an idle
/// machine before making it one.
fn finish_all(docs: &[Doc], pack: &crate::check::Pack) -> Vec<(Vec<Diagnostic>, String)> {
    let total: usize = docs.iter().map(|d| d.resources.len()).sum();
    let threads = std::env::var("RCDK_SYNTH_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(1);
    let finish = |docs: &[Doc]| {
        let mut patterns = crate::validate::Patterns::new();
        docs.iter().map(|d| finish(d, pack, &mut patterns)).collect::<Vec<_>>()
    };
    if total < PARALLEL_MIN_RESOURCES || threads < 2 || docs.len() < 2 {
        return finish(docs);
    }
    // The first stacks holding half of the resources go to the other thread.
    let mut seen = 0;
    let split = docs
        .iter()
        .position(|d| {
            seen += d.resources.len();
            seen * 2 >= total
        })
        .map_or(docs.len() / 2, |i| (i + 1).min(docs.len() - 1));
    let (first, rest) = docs.split_at(split);
    std::thread::scope(|scope| {
        // Without a thread (the system refuses one) the work is done here, in order.
        let Ok(other) = std::thread::Builder::new().spawn_scoped(scope, || finish(first)) else {
            return finish(docs);
        };
        let rest = finish(rest);
        // A panic of the other thread is a bug; doing its work again here reports it as this thread's own.
        let mut done = other.join().unwrap_or_else(|_| finish(first));
        done.extend(rest);
        done
    })
}

/// Validation, the rule pack and the JSON text of one linked template.
fn finish(doc: &Doc, pack: &crate::check::Pack, patterns: &mut crate::validate::Patterns) -> (Vec<Diagnostic>, String) {
    let mut diags = Vec::new();
    crate::validate::validate(doc, &mut diags, patterns);
    crate::check::run(doc, pack, &mut diags);
    let template = crate::render::render(doc);
    crate::validate::template_size(&doc.stack_id, template.len(), &mut diags);
    (diags, template)
}

fn stack_cycle(at: &str, deps: &BTreeMap<String, BTreeSet<String>>, seen: &mut Vec<String>) -> Option<Vec<String>> {
    for next in deps.get(at).into_iter().flatten() {
        if next == &seen[0] {
            let mut c = seen.clone();
            c.push(next.clone());
            return Some(c);
        }
        if !seen.contains(next) {
            seen.push(next.clone());
            if let Some(c) = stack_cycle(next, deps, seen) {
                return Some(c);
            }
            seen.pop();
        }
    }
    None
}

fn valid_stack_name(name: &str) -> bool {
    let mut c = name.chars();
    matches!(c.next(), Some(x) if x.is_ascii_alphabetic())
        && name.len() <= 128
        && c.all(|x| x.is_ascii_alphanumeric() || x == '-')
}

/// Output name under which a stack shares a value with the others: `<LogicalId>` + attribute (dots dropped).
fn export_name(logical_id: &str, attr: Option<&str>) -> String {
    match attr {
        None => format!("{logical_id}Ref"),
        Some(a) => format!("{logical_id}{}", a.replace('.', "")),
    }
}

pub const MANIFEST_VERSION: u32 = 1;

/// Everything synth produced.
#[derive(Debug)]
pub struct Assembly {
    pub stacks: Vec<StackArtifact>,
    pub manifest: Manifest,
    /// Notes and warnings (e.g. a template that must go through S3).
    pub notes: Vec<Diagnostic>,
}

impl Assembly {
    /// The manifest as written to `manifest.json`.
    pub fn manifest_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.manifest).unwrap_or_default();
        s.push('\n');
        s
    }
    pub fn stack(&self, id: &str) -> Option<&StackArtifact> {
        self.stacks.iter().find(|s| s.id == id)
    }
}

/// One synthesized stack.
#[derive(Clone, Debug)]
pub struct StackArtifact {
    pub id: String,
    pub name: String,
    pub region: String,
    pub account: Option<String>,
    pub stage: String,
    pub template_file: String,
    pub template: String,
    pub bytes: usize,
    pub resources: usize,
    pub resources_by_type: BTreeMap<String, usize>,
    pub dependencies: Vec<String>,
    pub assets: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub termination_protection: bool,
}

/// `manifest.json`: what deploy needs to know besides the templates.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub version: u32,
    pub app: String,
    /// In deployment order is not implied: use `dependencies`.
    pub stacks: Vec<ManifestStack>,
    pub assets: Vec<Asset>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestStack {
    pub id: String,
    pub name: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub stage: String,
    pub template_file: String,
    pub resources: usize,
    pub bytes: usize,
    /// Over 51,200 bytes: deploy must upload the template to S3 and pass its URL.
    pub requires_s3_upload: bool,
    /// Ids of the stacks this one reads outputs of (deploy them first).
    pub dependencies: Vec<String>,
    pub assets: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub termination_protection: bool,
}

impl From<&StackArtifact> for ManifestStack {
    fn from(a: &StackArtifact) -> Self {
        ManifestStack {
            id: a.id.clone(),
            name: a.name.clone(),
            region: a.region.clone(),
            account: a.account.clone(),
            stage: a.stage.clone(),
            template_file: a.template_file.clone(),
            resources: a.resources,
            bytes: a.bytes,
            requires_s3_upload: a.bytes > crate::validate::MAX_INLINE_BYTES,
            dependencies: a.dependencies.clone(),
            assets: a.assets.clone(),
            tags: a.tags.clone(),
            termination_protection: a.termination_protection,
        }
    }
}
