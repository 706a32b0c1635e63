//! The deploy engine on CloudFormation: per stack, the deployed template and the synthesized one are compared with
//! the typed diff; an identical template is "no changes" without any CloudFormation write; otherwise a change set
//! is created, checked (refusals of stateful replacements, approval), and executed, and its stack events are
//! streamed until the stack settles. Stacks go in dependency waves, each wave in parallel up to `concurrency`.
//!
//! What differs between targets is a [`Capabilities`] value decided once (AWS or the local cloud), never an
//! `if local` in the steps.
//!
//! SDK types stay inside this module and `aws.rs`: the engine's answers are the crate's own types
//! ([`DeployReport`], [`DeployError`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Replacement, StackStatus, Tag, TemplateStage,
};
use constructs::diff::{StackDiff, diff_stack};
use serde_json::Value;
use synth::{Assembly, StackArtifact};

use crate::aws::Clients;
use crate::plan::{DeployReport, RequireApproval, StackAction, StackReport, refusals};
use crate::progress::Progress;
use crate::resolve::{StackOutputs, resolve};

/// CloudFormation accepts a template body up to 51,200 bytes; larger ones must be uploaded to S3 and passed by
/// URL (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>).
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// What the target's CloudFormation can do, decided once per target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `Fn::GetStackOutput` is understood; otherwise the engine resolves it client-side from the producers'
    /// outputs (moto answers 500 to a template holding one).
    pub stack_outputs: bool,
    /// Executing a change set gives the same stack as `CreateStack`/`UpdateStack`. Otherwise a new stack is
    /// created with `CreateStack` (nothing to review: every change is an addition) and an update's change set is
    /// only read (its emptiness, its `Replacement` answers), deleted, and the update made with `UpdateStack`:
    /// moto 5.2.5 gives a stack created by a change set no outputs (deploy/MOTO.md), which would break every
    /// consumer of them.
    pub executes_change_sets: bool,
    /// Resource types the target does not create: they are left out of each template and references to them
    /// read placeholders ([`crate::emulate`]), each one printed before the stack deploys.
    pub unsupported_types: &'static [&'static str],
}

impl Capabilities {
    pub const AWS: Capabilities =
        Capabilities { stack_outputs: true, executes_change_sets: true, unsupported_types: &[] };
    /// The local cloud (moto 5.2.5, deploy/MOTO.md).
    pub const MOTO: Capabilities = Capabilities {
        stack_outputs: false,
        executes_change_sets: false,
        unsupported_types: crate::emulate::MOTO_UNSUPPORTED_TYPES,
    };
}

/// The options of `deploy`.
#[derive(Clone, Debug, Default)]
pub struct DeployOptions {
    pub require_approval: RequireApproval,
    /// Stacks deployed at once within a wave (at least 1).
    pub concurrency: usize,
    /// Logical ids whose replacement or deletion is accepted.
    pub allow_replace: BTreeSet<String>,
    /// A terminal is there to ask for approval; without one, a deploy needing approval is refused.
    pub interactive: bool,
    /// Only these stacks (by id or name); all when empty.
    pub only: Vec<String>,
}

/// Why a deploy or destroy stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A call to AWS failed.
    #[error("{stack}: {operation}: {message}")]
    Aws { stack: String, operation: &'static str, message: String },
    /// The deploy would destroy stateful resources.
    #[error("refused, nothing executed:\n{}", .0.iter().map(|r| format!("  {r}")).collect::<Vec<_>>().join("\n"))]
    Refused(Vec<crate::plan::Refusal>),
    /// A change needs approval and there is no terminal to ask, or the answer was no.
    #[error("{stack}: {reason}")]
    NotApproved { stack: String, reason: String },
    /// The stack did not reach a good state; every failed resource with its reason, and the rollback's outcome.
    #[error("{stack}: {status}\n{}", .failures.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
    Failed { stack: String, status: String, failures: Vec<String> },
    /// The stack is in a state no deploy can start from.
    #[error("{stack} is {status}: {hint}")]
    Stuck { stack: String, status: String, hint: &'static str },
    /// A cross-stack reference could not be resolved client-side.
    #[error("{stack}: {source}")]
    Resolve { stack: String, source: crate::resolve::ResolveError },
    /// `--stack` selections, dependency cycles, unreadable templates.
    #[error("{0}")]
    Input(String),
    /// Some stacks failed (the others are reported).
    #[error("{} of the stacks failed:\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<DeployError>),
}

impl DeployError {
    fn aws<E: ProvideErrorMetadata + std::fmt::Debug>(
        stack: &str,
        operation: &'static str,
        e: aws_sdk_cloudformation::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> DeployError {
        let message = match (e.code(), e.message(), e.raw_response()) {
            (Some(c), Some(m), _) => format!("{c}: {m}"),
            (None, Some(m), _) => m.to_owned(),
            // An answer that is not the service's error shape (the local cloud's 500 page): status and body.
            (_, _, Some(r)) => {
                let body = String::from_utf8_lossy(r.body().bytes().unwrap_or_default());
                let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
                format!("HTTP {}: {body}", r.status().as_u16())
            }
            _ => format!("{e:?}"),
        };
        DeployError::Aws { stack: stack.to_owned(), operation, message }
    }
}

/// The deploy engine for one target: a set of clients per region and the target's capabilities.
pub struct Engine {
    pub clients: BTreeMap<String, Clients>,
    pub caps: Capabilities,
    pub progress: Progress,
    /// Serializes approval prompts of stacks deployed in parallel.
    prompt: tokio::sync::Mutex<()>,
}

/// A stack as deployed: its status, template and outputs.
struct Deployed {
    status: StackStatus,
    outputs: BTreeMap<String, String>,
}

impl Engine {
    pub fn new(clients: BTreeMap<String, Clients>, caps: Capabilities, progress: Progress) -> Engine {
        Engine { clients, caps, progress, prompt: tokio::sync::Mutex::new(()) }
    }

    fn clients(&self, region: &str) -> Result<&Clients, DeployError> {
        self.clients.get(region).ok_or_else(|| DeployError::Input(format!("no clients for region {region}")))
    }

    /// Deploys the selected stacks of `assembly` in dependency waves.
    pub async fn deploy(
        self: &Arc<Self>,
        assembly: &Assembly,
        opts: &DeployOptions,
    ) -> Result<DeployReport, DeployError> {
        let selected = select(assembly, &opts.only)?;
        let deps: BTreeMap<String, Vec<String>> =
            selected.iter().map(|s| (s.id.clone(), s.dependencies.clone())).collect();
        let waves = crate::order::waves(&deps).map_err(|e| DeployError::Input(e.to_string()))?;
        let mut outputs = StackOutputs::new();
        let mut report = DeployReport::default();
        for wave in waves {
            let stacks: Vec<StackArtifact> =
                wave.iter().filter_map(|id| selected.iter().find(|s| &s.id == id).map(|s| (*s).clone())).collect();
            for chunk in stacks.chunks(opts.concurrency.max(1)) {
                let mut tasks = tokio::task::JoinSet::new();
                for s in chunk {
                    let template: Value = serde_json::from_str(&s.template)
                        .map_err(|e| DeployError::Input(format!("{}: template is not JSON: {e}", s.template_file)))?;
                    let adapted = self.emulate(s, template)?;
                    if self.progress.verbose {
                        self.progress.suspend(|| adapted.substitutions.iter().for_each(|x| eprintln!("{}/{x}", s.id)));
                    }
                    let mut template = adapted.template;
                    if !self.caps.stack_outputs {
                        self.fetch_producer_outputs(&template, &s.region, &mut outputs).await?;
                        resolve(&mut template, &s.region, &outputs)
                            .map_err(|source| DeployError::Resolve { stack: s.name.clone(), source })?;
                    }
                    let (engine, stack, opts) = (Arc::clone(self), s.clone(), opts.clone());
                    tasks.spawn(async move { engine.deploy_stack(&stack, template, &opts).await });
                }
                let mut errors = Vec::new();
                while let Some(done) = tasks.join_next().await {
                    match done {
                        Ok(Ok(r)) => report.stacks.push(r),
                        Ok(Err(e)) => errors.push(e),
                        Err(e) => errors.push(DeployError::Input(format!("a deploy task failed: {e}"))),
                    }
                }
                match errors.len() {
                    0 => {}
                    1 => return Err(errors.remove(0)),
                    _ => return Err(DeployError::Many(errors)),
                }
            }
            for r in &report.stacks {
                outputs.insert((r.region.clone(), r.name.clone()), r.outputs.clone());
            }
        }
        Ok(report)
    }

    /// Outputs of producer stacks not deployed in this run (a selection): read from CloudFormation.
    async fn fetch_producer_outputs(
        &self,
        template: &Value,
        region: &str,
        outputs: &mut StackOutputs,
    ) -> Result<(), DeployError> {
        for (r, name) in crate::resolve::references(template, region) {
            if outputs.contains_key(&(r.clone(), name.clone())) {
                continue;
            }
            if let Some(d) = self.describe(&r, &name).await? {
                outputs.insert((r, name), d.outputs);
            }
        }
        Ok(())
    }

    /// `template` without the resource types the target does not create (unchanged on AWS).
    fn emulate(&self, s: &StackArtifact, template: Value) -> Result<crate::emulate::Adapted, DeployError> {
        let at = crate::emulate::Placement::new(&s.region, &self.clients(&s.region)?.account);
        Ok(crate::emulate::adapt(template, &at, self.caps.unsupported_types))
    }

    async fn describe(&self, region: &str, name: &str) -> Result<Option<Deployed>, DeployError> {
        let cfn = &self.clients(region)?.cfn;
        match cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => Ok(out.stacks().first().map(|s| Deployed {
                status: s.stack_status().cloned().unwrap_or(StackStatus::from("UNKNOWN")),
                outputs: s
                    .outputs()
                    .iter()
                    .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value().unwrap_or_default().to_owned())))
                    .collect(),
            })),
            Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => Ok(None),
            Err(e) => Err(DeployError::aws(name, "DescribeStacks", e)),
        }
    }

    async fn deployed_template(&self, region: &str, name: &str) -> Result<Value, DeployError> {
        let cfn = &self.clients(region)?.cfn;
        let out = cfn
            .get_template()
            .stack_name(name)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| DeployError::aws(name, "GetTemplate", e))?;
        serde_json::from_str(out.template_body().unwrap_or("{}"))
            .map_err(|e| DeployError::Input(format!("{name}: the deployed template is not JSON: {e}")))
    }

    /// The typed diff of one stack against what is deployed (`None` when the stack does not exist).
    pub async fn live_diff(&self, s: &StackArtifact) -> Result<StackDiff, DeployError> {
        let template: Value = serde_json::from_str(&s.template)
            .map_err(|e| DeployError::Input(format!("{}: template is not JSON: {e}", s.template_file)))?;
        // Compared as deployed: without what the target does not create.
        let mut template = self.emulate(s, template)?.template;
        let old = match self.describe(&s.region, &s.name).await? {
            Some(_) => Some(self.deployed_template(&s.region, &s.name).await?),
            None => None,
        };
        if !self.caps.stack_outputs {
            let mut outputs = StackOutputs::new();
            self.fetch_producer_outputs(&template, &s.region, &mut outputs).await?;
            // Unresolvable references stay as written: the diff shows them.
            let _ = resolve(&mut template, &s.region, &outputs);
        }
        Ok(diff_stack(&s.id, &s.name, old.as_ref(), &template))
    }

    async fn deploy_stack(
        &self,
        s: &StackArtifact,
        template: Value,
        opts: &DeployOptions,
    ) -> Result<StackReport, DeployError> {
        let started = Instant::now();
        let bar = self.progress.stack(&format!("{} ({})", s.name, s.region));
        let mut existing = self.describe(&s.region, &s.name).await?;
        if let Some(d) = &existing {
            match d.status {
                // A stack whose creation failed and rolled back holds nothing and cannot be updated.
                StackStatus::RollbackComplete => {
                    bar.set_message("deleting the stack left by a failed creation");
                    self.delete_and_wait(&s.region, &s.name).await?;
                    existing = None;
                }
                StackStatus::UpdateRollbackFailed => {
                    return Err(DeployError::Stuck {
                        stack: s.name.clone(),
                        status: d.status.as_str().to_owned(),
                        hint: "continue the rollback (aws cloudformation continue-update-rollback, skipping the \
                               resources that cannot roll back) or delete the stack, then deploy again",
                    });
                }
                ref st if st.as_str().ends_with("_IN_PROGRESS") => {
                    return Err(DeployError::Stuck {
                        stack: s.name.clone(),
                        status: st.as_str().to_owned(),
                        hint: "another operation is running on it; wait for it to finish",
                    });
                }
                _ => {}
            }
        }
        let old = match &existing {
            Some(_) => Some(self.deployed_template(&s.region, &s.name).await?),
            None => None,
        };
        let diff = diff_stack(&s.id, &s.name, old.as_ref(), &template);
        let report = |action, status, outputs, diff| StackReport {
            id: s.id.clone(),
            name: s.name.clone(),
            region: s.region.clone(),
            action,
            diff,
            refusals: Vec::new(),
            status,
            outputs,
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(d) = existing.as_ref().filter(|_| !diff.has_changes()) {
            bar.finish_with_message("no changes");
            return Ok(report(StackAction::NoChanges, None, d.outputs.clone(), diff));
        }
        let body = serde_json::to_string(&template).map_err(|e| DeployError::Input(e.to_string()))?;
        let body = self.template_source(s, body).await?;
        let clients = self.clients(&s.region)?;
        let change_set = format!("rcdk-{}", started.elapsed().as_nanos() ^ u128::from(std::process::id()));
        let kind = if existing.is_some() { ChangeSetType::Update } else { ChangeSetType::Create };
        let use_change_set = existing.is_some() || self.caps.executes_change_sets;
        let service_replaces = if use_change_set {
            bar.set_message("creating change set");
            let mut req = clients
                .cfn
                .create_change_set()
                .stack_name(&s.name)
                .change_set_name(&change_set)
                .change_set_type(kind.clone())
                .capabilities(Capability::CapabilityIam)
                .capabilities(Capability::CapabilityNamedIam)
                .capabilities(Capability::CapabilityAutoExpand)
                .set_tags(Some(s.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()));
            req = match &body {
                TemplateSource::Body(b) => req.template_body(b),
                TemplateSource::Url(u) => req.template_url(u),
            };
            req.send().await.map_err(|e| DeployError::aws(&s.name, "CreateChangeSet", e))?;
            match self.wait_change_set(&s.name, &s.region, &change_set).await? {
                ChangeSetOutcome::Empty => {
                    clients
                        .cfn
                        .delete_change_set()
                        .stack_name(&s.name)
                        .change_set_name(&change_set)
                        .send()
                        .await
                        .map_err(|e| DeployError::aws(&s.name, "DeleteChangeSet", e))?;
                    bar.finish_with_message("no changes");
                    let outputs = existing.map(|d| d.outputs).unwrap_or_default();
                    return Ok(report(StackAction::NoChanges, None, outputs, diff));
                }
                ChangeSetOutcome::Ready(replaces) => replaces,
            }
        } else {
            BTreeSet::new()
        };
        let queue_check = self.nonempty_queues(s, &diff).await;
        let refused = refusals(&diff, &service_replaces, &opts.allow_replace, &|id| queue_check.contains(id));
        let approval = opts.require_approval.needed(&diff);
        if !refused.is_empty() {
            if use_change_set {
                self.abandon(s, &change_set, &kind).await;
            }
            bar.abandon_with_message("refused");
            return Err(DeployError::Refused(refused));
        }
        if approval && let Err(e) = self.approve(s, &diff, opts).await {
            if use_change_set {
                self.abandon(s, &change_set, &kind).await;
            }
            bar.abandon_with_message("not approved");
            return Err(e);
        }
        bar.set_message("executing");
        let since = chrono_now();
        if !use_change_set {
            let mut create = clients
                .cfn
                .create_stack()
                .stack_name(&s.name)
                .capabilities(Capability::CapabilityIam)
                .capabilities(Capability::CapabilityNamedIam)
                .capabilities(Capability::CapabilityAutoExpand)
                .set_tags(Some(s.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()));
            create = match &body {
                TemplateSource::Body(b) => create.template_body(b),
                TemplateSource::Url(u) => create.template_url(u),
            };
            create.send().await.map_err(|e| DeployError::aws(&s.name, "CreateStack", e))?;
        } else if !self.caps.executes_change_sets {
            let _ = clients.cfn.delete_change_set().stack_name(&s.name).change_set_name(&change_set).send().await;
            let mut up = clients
                .cfn
                .update_stack()
                .stack_name(&s.name)
                .capabilities(Capability::CapabilityIam)
                .capabilities(Capability::CapabilityNamedIam)
                .capabilities(Capability::CapabilityAutoExpand);
            up = match &body {
                TemplateSource::Body(b) => up.template_body(b),
                TemplateSource::Url(u) => up.template_url(u),
            };
            up.send().await.map_err(|e| DeployError::aws(&s.name, "UpdateStack", e))?;
        } else {
            clients
                .cfn
                .execute_change_set()
                .stack_name(&s.name)
                .change_set_name(&change_set)
                .send()
                .await
                .map_err(|e| DeployError::aws(&s.name, "ExecuteChangeSet", e))?;
        }
        let status = self.wait_stack(&s.region, &s.name, since, &bar).await?;
        let outputs = self.describe(&s.region, &s.name).await?.map(|d| d.outputs).unwrap_or_default();
        bar.finish_with_message(status.clone());
        let action = if kind == ChangeSetType::Create { StackAction::Create } else { StackAction::Update };
        Ok(report(action, Some(status), outputs, diff))
    }

    /// Deletes a change set that will not be executed, and the empty `REVIEW_IN_PROGRESS` stack a `CREATE` change
    /// set leaves behind. Best effort: the refusal is the answer, a failed cleanup is not worth hiding it.
    async fn abandon(&self, s: &StackArtifact, change_set: &str, kind: &ChangeSetType) {
        let Ok(clients) = self.clients(&s.region) else { return };
        let _ = clients.cfn.delete_change_set().stack_name(&s.name).change_set_name(change_set).send().await;
        if *kind == ChangeSetType::Create {
            let _ = clients.cfn.delete_stack().stack_name(&s.name).send().await;
        }
    }

    async fn approve(&self, s: &StackArtifact, diff: &StackDiff, opts: &DeployOptions) -> Result<(), DeployError> {
        let reason = match opts.require_approval {
            RequireApproval::Any => "changes need approval (--require-approval any)",
            _ => "changes broaden access and need approval (--require-approval broadening)",
        };
        if !opts.interactive {
            return Err(DeployError::NotApproved {
                stack: s.name.clone(),
                reason: format!(
                    "{reason}, and there is no terminal to ask: run it on a terminal or pass --require-approval never\n{diff}"
                ),
            });
        }
        let _guard = self.prompt.lock().await;
        let answer = self.progress.suspend(|| {
            eprint!("{diff}Deploy {}? [y/N] ", s.name);
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        });
        match answer {
            Ok(a) if a.trim().eq_ignore_ascii_case("y") || a.trim().eq_ignore_ascii_case("yes") => Ok(()),
            _ => Err(DeployError::NotApproved { stack: s.name.clone(), reason: "not approved".into() }),
        }
    }

    /// Queues of `diff` that would be removed or replaced and hold messages (by their deployed URL).
    async fn nonempty_queues(&self, s: &StackArtifact, diff: &StackDiff) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Ok(clients) = self.clients(&s.region) else { return out };
        for r in diff
            .resources
            .iter()
            .filter(|r| r.type_name == "AWS::SQS::Queue" && r.action != constructs::diff::Action::Add)
        {
            let url = self.physical_id(&s.region, &s.name, &r.logical_id).await.ok().flatten();
            let Some(url) = url else { continue };
            let count = clients
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await;
            // Unknown (the call failed) counts as holding messages: refusing is the safe side.
            let holds = match count {
                Ok(o) => o.attributes().is_none_or(|a| {
                    [
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    ]
                    .iter()
                    .any(|k| {
                        a.get(&k.parse().unwrap_or(aws_sdk_sqs::types::QueueAttributeName::All))
                            .is_some_and(|v| v != "0")
                    })
                }),
                Err(_) => true,
            };
            if holds {
                out.insert(r.logical_id.clone());
            }
        }
        out
    }

    /// The physical id of a stack's resource (`ListStackResources`: moto answers 500 to `DescribeStackResource`
    /// for some types).
    pub async fn physical_id(
        &self,
        region: &str,
        stack: &str,
        logical_id: &str,
    ) -> Result<Option<String>, DeployError> {
        let cfn = &self.clients(region)?.cfn;
        let mut token = None;
        loop {
            let page = cfn
                .list_stack_resources()
                .stack_name(stack)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| DeployError::aws(stack, "ListStackResources", e))?;
            if let Some(r) =
                page.stack_resource_summaries().iter().find(|r| r.logical_resource_id() == Some(logical_id))
            {
                return Ok(r.physical_resource_id().map(str::to_owned));
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(None);
            }
        }
    }

    async fn template_source(&self, s: &StackArtifact, body: String) -> Result<TemplateSource, DeployError> {
        if body.len() <= MAX_TEMPLATE_BODY {
            return Ok(TemplateSource::Body(body));
        }
        let clients = self.clients(&s.region)?;
        let bucket = clients.assets_bucket(&s.region);
        let key = format!("templates/{}.json", crate::package::sha256_hex(body.as_bytes()));
        clients
            .s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(body.into_bytes().into())
            .send()
            .await
            .map_err(|e| DeployError::aws(&s.name, "PutObject (template)", e))?;
        Ok(TemplateSource::Url(clients.object_url(&bucket, &key, &s.region)))
    }

    async fn wait_change_set(&self, stack: &str, region: &str, name: &str) -> Result<ChangeSetOutcome, DeployError> {
        let cfn = &self.clients(region)?.cfn;
        let mut delay = Duration::from_millis(100);
        loop {
            let out = cfn
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(name)
                .send()
                .await
                .map_err(|e| DeployError::aws(stack, "DescribeChangeSet", e))?;
            match out.status() {
                Some(ChangeSetStatus::CreateComplete) => {
                    let mut replaces = BTreeSet::new();
                    for c in out.changes() {
                        if let Some(rc) = c.resource_change()
                            && matches!(rc.replacement(), Some(Replacement::True | Replacement::Conditional))
                            && let Some(id) = rc.logical_resource_id()
                        {
                            replaces.insert(id.to_owned());
                        }
                    }
                    if out.changes().is_empty() {
                        return Ok(ChangeSetOutcome::Empty);
                    }
                    return Ok(ChangeSetOutcome::Ready(replaces));
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = out.status_reason().unwrap_or_default();
                    // CloudFormation's words for an empty change set.
                    if reason.contains("didn't contain changes") || reason.contains("No updates are to be performed") {
                        return Ok(ChangeSetOutcome::Empty);
                    }
                    return Err(DeployError::Failed {
                        stack: stack.to_owned(),
                        status: "change set FAILED".into(),
                        failures: vec![reason.to_owned()],
                    });
                }
                _ => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(3));
        }
    }

    /// Waits for the stack to settle, streaming its events since `since` to the progress bar. Throttled
    /// `DescribeStackEvents` calls back off instead of failing the deploy.
    async fn wait_stack(
        &self,
        region: &str,
        name: &str,
        since: aws_smithy_types::DateTime,
        bar: &crate::progress::StackBar,
    ) -> Result<String, DeployError> {
        let cfn = &self.clients(region)?.cfn;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut failures: Vec<String> = Vec::new();
        let mut delay = Duration::from_millis(100);
        loop {
            match cfn.describe_stack_events().stack_name(name).send().await {
                Ok(out) => {
                    // Newest first: print oldest first.
                    for e in out.stack_events().iter().rev() {
                        let id = e.event_id().unwrap_or_default().to_owned();
                        if e.timestamp().is_some_and(|t| t.secs() < since.secs()) || !seen.insert(id) {
                            continue;
                        }
                        let status = e.resource_status().map(|s| s.as_str().to_owned()).unwrap_or_default();
                        let line = format!(
                            "{} {} {}{}",
                            e.logical_resource_id().unwrap_or_default(),
                            e.resource_type().unwrap_or_default(),
                            status,
                            e.resource_status_reason().map(|r| format!(": {r}")).unwrap_or_default()
                        );
                        if status.ends_with("_FAILED") {
                            failures.push(line.clone());
                        }
                        bar.event(&line);
                    }
                }
                Err(e) if e.code().is_some_and(|c| c.contains("Throttl")) => {
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                // A deleted stack is forgotten by name (moto does so at once, AWS after the deletion).
                Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => {
                    return Ok("DELETE_COMPLETE".to_owned());
                }
                Err(e) => return Err(DeployError::aws(name, "DescribeStackEvents", e)),
            }
            let status = self.describe(region, name).await?.map(|d| d.status);
            let status_str = status.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "DELETE_COMPLETE".into());
            if !status_str.ends_with("_IN_PROGRESS") {
                let good = matches!(
                    status,
                    Some(StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::ImportComplete)
                        | None
                );
                if good {
                    return Ok(status_str);
                }
                let outcome = match status_str.as_str() {
                    "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" => "the rollback succeeded".to_owned(),
                    "ROLLBACK_FAILED" | "UPDATE_ROLLBACK_FAILED" => {
                        "the rollback FAILED: continue it (continue-update-rollback) or delete the stack".to_owned()
                    }
                    other => format!("ended {other}"),
                };
                return Err(DeployError::Failed {
                    stack: name.to_owned(),
                    status: format!("{status_str} ({outcome})"),
                    failures,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(3));
        }
    }

    async fn delete_and_wait(&self, region: &str, name: &str) -> Result<String, DeployError> {
        let since = chrono_now();
        self.clients(region)?
            .cfn
            .delete_stack()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| DeployError::aws(name, "DeleteStack", e))?;
        let bar = self.progress.stack(&format!("{name} ({region})"));
        let status = self.wait_stack(region, name, since, &bar).await?;
        bar.finish_with_message("deleted");
        Ok(status)
    }

    /// Destroys the selected stacks in reverse dependency order; returns, per stack, the resources CloudFormation
    /// leaves in the account (`DeletionPolicy: Retain`).
    pub async fn destroy(
        &self,
        assembly: &Assembly,
        only: &[String],
    ) -> Result<Vec<(String, Vec<String>)>, DeployError> {
        let selected = select(assembly, only)?;
        let deps: BTreeMap<String, Vec<String>> =
            selected.iter().map(|s| (s.id.clone(), s.dependencies.clone())).collect();
        let waves = crate::order::waves(&deps).map_err(|e| DeployError::Input(e.to_string()))?;
        let mut retained = Vec::new();
        for wave in waves.into_iter().rev() {
            for id in wave.iter().rev() {
                let Some(s) = selected.iter().find(|s| &s.id == id) else { continue };
                if self.describe(&s.region, &s.name).await?.is_none() {
                    continue;
                }
                let template = self.deployed_template(&s.region, &s.name).await?;
                self.delete_and_wait(&s.region, &s.name).await?;
                retained.push((s.name.clone(), retained_resources(&template)));
            }
        }
        Ok(retained)
    }
}

/// Resources a template keeps on deletion: `Type LogicalId`.
pub fn retained_resources(template: &Value) -> Vec<String> {
    template
        .get("Resources")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, r)| {
                    matches!(r.get("DeletionPolicy").and_then(Value::as_str), Some("Retain" | "RetainExceptOnCreate"))
                })
                .map(|(id, r)| format!("{} {id}", r.get("Type").and_then(Value::as_str).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// The stacks `only` names (by id or name), all when empty; an unknown name is an error listing the known ones.
pub fn select<'a>(assembly: &'a Assembly, only: &[String]) -> Result<Vec<&'a StackArtifact>, DeployError> {
    if only.is_empty() {
        return Ok(assembly.stacks.iter().collect());
    }
    for o in only {
        if !assembly.stacks.iter().any(|s| &s.id == o || &s.name == o) {
            let known: Vec<String> = assembly.stacks.iter().map(|s| format!("{} ({})", s.id, s.name)).collect();
            return Err(DeployError::Input(format!("no stack {o:?}; the app has: {}", known.join(", "))));
        }
    }
    Ok(assembly.stacks.iter().filter(|s| only.iter().any(|o| &s.id == o || &s.name == o)).collect())
}

enum TemplateSource {
    Body(String),
    Url(String),
}

enum ChangeSetOutcome {
    Empty,
    /// Ready to execute, with the logical ids the service says it replaces.
    Ready(BTreeSet<String>),
}

fn chrono_now() -> aws_smithy_types::DateTime {
    // A second of slack: the service's clock and ours differ, and an event is better shown than missed.
    let now = std::time::SystemTime::now() - Duration::from_secs(1);
    aws_smithy_types::DateTime::from(now)
}
