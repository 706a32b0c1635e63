//! The command line of `rcdk-deploy`: one struct per subcommand (clap args), each with `run`. Every command
//! synthesizes the app itself through `constructs::app` (the same code as `cargo xtask synth`) and writes the
//! assembly to `--out`, so what is deployed is what `synth` shows.
//!
//! The target is decided once per command: `--stage local` is the local cloud (started when not running, dummy
//! credentials, its endpoint); any other stage takes the standard `aws-config` chain, and an endpoint on the
//! loopback interface (`AWS_ENDPOINT_URL=http://127.0.0.1:...`) is treated as the local cloud too.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use aws_types::SdkConfig;
use synth::Assembly;

use crate::aws::{Clients, base_config};
use crate::engine::{Capabilities, DeployOptions, Engine};
use crate::local::LocalDir;
use crate::package::BuildTarget;
use crate::plan::{DeployReport, RequireApproval};
use crate::progress::Progress;

#[derive(clap::Parser, Debug)]
#[command(name = "rcdk-deploy", about = "Package, bootstrap, deploy, diff and destroy the app; run the local cloud")]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Build the handler zips the stage uses (not rebuilt while their hash is unchanged).
    Package(Package),
    /// Deploy the assets bucket stack (`rcdk-bootstrap`) in every region the stage uses.
    Bootstrap(Bootstrap),
    /// Synthesize, package, upload and deploy the stacks.
    Deploy(Deploy),
    /// Compare the synthesized templates with the deployed stacks (`--live`).
    Diff(Diff),
    /// Delete the stage's stacks in reverse dependency order.
    Destroy(Destroy),
    /// The local cloud: `start`, `stop`, `status`.
    Local(LocalCmd),
}

impl Cli {
    pub fn run(self) -> Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
        rt.block_on(async move {
            match self.command {
                Cmd::Package(c) => c.run(),
                Cmd::Bootstrap(c) => c.run().await,
                Cmd::Deploy(c) => c.run().await,
                Cmd::Diff(c) => c.run().await,
                Cmd::Destroy(c) => c.run().await,
                Cmd::Local(c) => c.run(),
            }
        })
    }
}

/// The app and where it goes.
#[derive(clap::Args, Debug, Clone)]
pub struct AppArgs {
    /// Stage to deploy (`local`: the local cloud).
    #[arg(long, default_value = "dev")]
    pub stage: String,
    /// Output directory (templates, zips, outputs.json, the local cloud's state), relative to the workspace root.
    #[arg(long, default_value = "rcdk.out")]
    pub out: PathBuf,
    /// Override a key of the stage file, e.g. `--set features.redis=true` (repeatable; see `cargo xtask synth`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<constructs::platform::stage::Override>,
    /// Another app than the default (see `cargo xtask synth --app`).
    #[arg(long, hide = true)]
    pub app: Option<String>,
}

/// The workspace root: the nearest ancestor of the current directory with a `Cargo.toml` holding `[workspace]`.
pub fn project_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|d| std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]")))
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

impl AppArgs {
    fn out(&self) -> PathBuf {
        project_root().join(&self.out)
    }

    /// Synthesizes the app and writes the assembly to the output directory.
    fn synth(&self) -> Result<Assembly> {
        let root = project_root();
        let app = constructs::app::build(&root, self.app.as_deref(), &self.stage, &self.overrides)?;
        let assembly = constructs::app::synthesize(&app)?;
        constructs::app::write(&assembly, &self.out(), None)?;
        Ok(assembly)
    }

    fn is_local(&self) -> bool {
        self.stage == "local"
    }
}

/// A target: its SDK configuration and what its CloudFormation can do.
pub struct Target {
    pub base: SdkConfig,
    pub caps: Capabilities,
    pub build: BuildTarget,
    pub account: String,
}

impl Target {
    async fn new(args: &AppArgs) -> Result<Target> {
        let endpoint = if args.is_local() {
            let local = LocalDir::new(&args.out()).start(&project_root(), 0)?;
            Some(local.endpoint())
        } else {
            None
        };
        let base = base_config(endpoint.as_deref()).await;
        Target::from_config(base).await
    }

    /// The target of an SDK configuration: the local cloud when its endpoint is on the loopback interface.
    pub async fn from_config(base: SdkConfig) -> Result<Target> {
        let local = base.endpoint_url().is_some_and(|e| e.contains("://127.0.0.1") || e.contains("://localhost"));
        let account = crate::aws::account(&base).await?;
        let (caps, build) =
            if local { (Capabilities::MOTO, BuildTarget::Host) } else { (Capabilities::AWS, BuildTarget::Aws) };
        Ok(Target { base, caps, build, account })
    }

    fn engine(&self, regions: impl IntoIterator<Item = String>, progress: Progress) -> Arc<Engine> {
        Arc::new(Engine::new(crate::aws::clients(&self.base, regions, &self.account), self.caps, progress))
    }
}

pub fn regions(assembly: &Assembly) -> Vec<String> {
    let r: BTreeSet<String> = assembly.stacks.iter().map(|s| s.region.clone()).collect();
    r.into_iter().collect()
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

#[derive(clap::Args, Debug)]
pub struct Package {
    #[command(flatten)]
    app: AppArgs,
    /// `aws`: arm64 zips (cargo-lambda); `host`: host binaries for the local cloud. Default: `host` for the
    /// `local` stage, `aws` otherwise.
    #[arg(long, value_enum)]
    target: Option<BuildTarget>,
}

impl Package {
    fn run(self) -> Result<()> {
        let assembly = self.app.synth()?;
        let target = self.target.unwrap_or(if self.app.is_local() { BuildTarget::Host } else { BuildTarget::Aws });
        let started = std::time::Instant::now();
        let r = crate::package::package(&project_root(), &self.app.out(), &assembly.manifest.assets, target)?;
        println!(
            "package: {} built, {} unchanged in {:.1} s{}",
            r.built.len(),
            r.cached.len(),
            started.elapsed().as_secs_f64(),
            if r.built.is_empty() { String::new() } else { format!(" ({})", r.built.join(", ")) }
        );
        Ok(())
    }
}

#[derive(clap::Args, Debug)]
pub struct Bootstrap {
    #[command(flatten)]
    app: AppArgs,
}

impl Bootstrap {
    async fn run(self) -> Result<()> {
        let assembly = self.app.synth()?;
        let target = Target::new(&self.app).await?;
        let regions = regions(&assembly);
        let engine = target.engine(regions.clone(), Progress::new(true));
        let report = bootstrap(&engine, &regions).await?;
        print!("{report}");
        Ok(())
    }
}

/// Deploys the bootstrap stack in `regions` (never asks: it is the toolkit's own bucket).
pub async fn bootstrap(engine: &Arc<Engine>, regions: &[String]) -> Result<DeployReport> {
    let app = crate::bootstrap::app(regions)?;
    let assembly = constructs::app::synthesize(&app)?;
    let opts =
        DeployOptions { require_approval: RequireApproval::Never, concurrency: regions.len(), ..Default::default() };
    Ok(engine.deploy(&assembly, &opts).await?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Deploy {
    #[command(flatten)]
    app: AppArgs,
    /// Stacks to deploy (id or name); all when none.
    stacks: Vec<String>,
    /// Which changes need a yes on a terminal. Default: `broadening`, and `never` on the `local` stage (the local
    /// cloud holds no real access to broaden, and the README's first command runs without a terminal).
    #[arg(long, value_enum)]
    require_approval: Option<RequireApproval>,
    /// Stacks deployed at once within a dependency wave.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
    /// Accept the replacement or deletion of this stateful resource (logical id); repeatable.
    #[arg(long = "allow-replace", value_name = "LOGICAL_ID")]
    allow_replace: Vec<String>,
    /// When only handler code changed: update the functions directly (refused on a production stage).
    #[arg(long)]
    hotswap: bool,
}

impl Deploy {
    async fn run(self) -> Result<()> {
        if self.hotswap && self.app.stage.starts_with("prod") {
            bail!(
                "--hotswap is refused on a production stage ({}): it changes functions outside CloudFormation",
                self.app.stage
            );
        }
        let assembly = self.app.synth()?;
        let target = Target::new(&self.app).await?;
        let engine = target.engine(regions(&assembly), Progress::new(true));
        let opts = DeployOptions {
            require_approval: self.require_approval.unwrap_or(if self.app.is_local() {
                RequireApproval::Never
            } else {
                RequireApproval::Broadening
            }),
            concurrency: self.concurrency,
            allow_replace: self.allow_replace.iter().cloned().collect(),
            interactive: interactive(),
            only: self.stacks.clone(),
        };
        let report = deploy_assembly(&engine, target.build, &self.app.out(), &assembly, &opts, self.hotswap).await?;
        let outputs = self.app.out().join("outputs.json");
        std::fs::write(&outputs, serde_json::to_string_pretty(&report.outputs())? + "\n")
            .with_context(|| format!("writing {}", outputs.display()))?;
        match self.output {
            Output::Text => print!("{report}"),
            Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        }
        Ok(())
    }
}

/// What `deploy` does after synth: on the local cloud, bootstrap first; build the missing zips and upload the
/// missing ones; then deploy (or hotswap) the selected stacks.
pub async fn deploy_assembly(
    engine: &Arc<Engine>,
    build: BuildTarget,
    out: &Path,
    assembly: &Assembly,
    opts: &DeployOptions,
    hotswap: bool,
) -> Result<DeployReport> {
    if engine.caps == Capabilities::MOTO {
        bootstrap(engine, &regions(assembly)).await?;
    }
    let selected = crate::engine::select(assembly, &opts.only)?;
    upload_assets(engine, build, out, assembly, &selected).await?;
    Ok(if hotswap {
        crate::hotswap::deploy(engine, assembly, opts).await?
    } else {
        engine.deploy(assembly, opts).await?
    })
}

/// Builds the missing zips of the selected stacks' assets and uploads the ones the bucket lacks.
async fn upload_assets(
    engine: &Engine,
    build: BuildTarget,
    out: &Path,
    assembly: &Assembly,
    selected: &[&synth::StackArtifact],
) -> Result<()> {
    let used: BTreeSet<&str> = selected.iter().flat_map(|s| s.assets.iter().map(String::as_str)).collect();
    let assets: Vec<synth::Asset> =
        assembly.manifest.assets.iter().filter(|a| used.contains(a.id.as_str())).cloned().collect();
    if assets.is_empty() {
        return Ok(());
    }
    crate::package::package(&project_root(), out, &assets, build)?;
    for region in selected.iter().map(|s| s.region.as_str()).collect::<BTreeSet<_>>() {
        let in_region: BTreeSet<&str> =
            selected.iter().filter(|s| s.region == region).flat_map(|s| s.assets.iter().map(String::as_str)).collect();
        let these: Vec<&synth::Asset> = assets.iter().filter(|a| in_region.contains(a.id.as_str())).collect();
        let clients: &Clients = engine.clients.get(region).context("no clients for the region")?;
        crate::package::upload(clients, region, out, &these, build).await?;
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct Diff {
    #[command(flatten)]
    app: AppArgs,
    /// Against the deployed stacks (`GetTemplate`). Required here: the offline diff is `cargo xtask diff`.
    #[arg(long)]
    live: bool,
    #[arg(long, value_enum, default_value = "text")]
    output: DiffOutput,
    /// Exit with an error when anything changed.
    #[arg(long)]
    fail: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffOutput {
    Text,
    Json,
    Markdown,
}

impl Diff {
    async fn run(self) -> Result<()> {
        if !self.live {
            bail!(
                "rcdk-deploy diff compares with the deployed stacks: pass --live (the offline diff is `cargo xtask diff`)"
            );
        }
        let assembly = self.app.synth()?;
        let target = Target::new(&self.app).await?;
        let engine = target.engine(regions(&assembly), Progress::hidden());
        let mut report = constructs::diff::Report::default();
        for s in &assembly.stacks {
            report.stacks.push(engine.live_diff(s).await?);
        }
        match self.output {
            DiffOutput::Text => print!("{report}"),
            DiffOutput::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            DiffOutput::Markdown => print!("{}", report.to_markdown()),
        }
        if self.fail && report.has_changes() {
            bail!("the deployed stacks differ from the synthesized templates");
        }
        Ok(())
    }
}

#[derive(clap::Args, Debug)]
pub struct Destroy {
    #[command(flatten)]
    app: AppArgs,
    /// Stacks to destroy (id or name); all when none.
    stacks: Vec<String>,
    /// Do not ask (needed without a terminal).
    #[arg(long)]
    force: bool,
}

impl Destroy {
    async fn run(self) -> Result<()> {
        let assembly = self.app.synth()?;
        let names: Vec<&str> =
            crate::engine::select(&assembly, &self.stacks)?.iter().map(|s| s.name.as_str()).collect();
        if !self.force {
            if !interactive() {
                bail!("destroy deletes {}: pass --force to confirm without a terminal", names.join(", "));
            }
            eprint!("Delete {}? [y/N] ", names.join(", "));
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            if !matches!(line.trim(), "y" | "Y" | "yes") {
                bail!("not confirmed; nothing deleted");
            }
        }
        let target = Target::new(&self.app).await?;
        let engine = target.engine(regions(&assembly), Progress::new(true));
        let retained = engine.destroy(&assembly, &self.stacks).await?;
        for (stack, kept) in retained {
            println!("{stack}: deleted");
            for r in kept {
                println!("  retained: {r}");
            }
        }
        Ok(())
    }
}

#[derive(clap::Args, Debug)]
pub struct LocalCmd {
    #[command(subcommand)]
    action: LocalAction,
    /// Output directory holding the local cloud's state (`<out>/local/`).
    #[arg(long, default_value = "rcdk.out", global = true)]
    out: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
enum LocalAction {
    /// Start moto (no-op when running).
    Start {
        /// Port (0: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Stop it.
    Stop,
    /// Say whether it runs, and where.
    Status,
}

impl LocalCmd {
    fn run(self) -> Result<()> {
        let root = project_root();
        let dir = LocalDir::new(&root.join(&self.out));
        match self.action {
            LocalAction::Start { port } => {
                let l = dir.start(&root, port)?;
                println!("local cloud: {} (pid {})", l.endpoint(), l.pid);
            }
            LocalAction::Stop => {
                if dir.stop()? {
                    println!("local cloud stopped");
                } else {
                    println!("local cloud was not running");
                }
            }
            LocalAction::Status => match dir.status() {
                Some(l) => println!("local cloud: {} (pid {})", l.endpoint(), l.pid),
                None => println!("local cloud: not running"),
            },
        }
        Ok(())
    }
}
