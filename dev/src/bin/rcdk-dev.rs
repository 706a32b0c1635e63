//! `rcdk-dev`, run by `cargo xtask dev`: the platform on localhost until Ctrl-C or SIGTERM, reloading on save.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use dev::app::{Dev, Options};

#[derive(Parser, Debug)]
#[command(
    name = "rcdk-dev",
    about = "The platform on localhost: the local cloud, the API, the functions, the pipelines"
)]
struct Cli {
    /// The stage to run (its stage file, deployed to the local cloud).
    #[arg(long, default_value = "local")]
    stage: String,
    /// The API's port (0: a free one).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Build the handlers with the release profile (debug by default: faster rebuilds).
    #[arg(long)]
    release: bool,
    /// No colour and no progress bars; no file watching (tests, CI).
    #[arg(long)]
    headless: bool,
    /// Start a webhook receiver that prints each delivery and checks its signature (PORT: 0 or absent, a free one).
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "0")]
    webhook_sink: Option<u16>,
    /// Output directory (assembly, host zips, the local cloud's state), relative to the workspace root.
    #[arg(long, default_value = "rcdk.out/dev")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = deploy::cli::project_root();
    let options = Options {
        out: root.join(&cli.out),
        root,
        stage: cli.stage,
        port: cli.port,
        release: cli.release,
        headless: cli.headless,
        webhook_sink: cli.webhook_sink,
        watch: !cli.headless,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    rt.block_on(run(options))
}

async fn run(options: Options) -> Result<()> {
    let watch = options.watch;
    let root = options.root.clone();
    // Listening before anything starts: a Ctrl-C during the deploy or the build stops the local cloud too.
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("listening for SIGTERM")?;
    let started = tokio::select! {
        started = Dev::start(options.clone()) => Some(started),
        _ = tokio::signal::ctrl_c() => None,
        _ = terminate.recv() => None,
    };
    let mut dev = match started {
        Some(Ok(d)) => d,
        other => {
            // Nothing may be left listening: the local cloud started before the failure is stopped.
            let _ = deploy::local::LocalDir::new(&options.out).stop();
            return match other {
                Some(Err(e)) => Err(e),
                _ => {
                    eprintln!("dev: interrupted while starting; local cloud stopped");
                    Ok(())
                }
            };
        }
    };
    print!("{}", dev.banner());
    let mut watcher = if watch { Some(dev::app::watch::Watch::start(&root)?) } else { None };
    loop {
        let changes = async {
            match watcher.as_mut() {
                Some(w) => w.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            Some(changes) = changes => {
                let started = std::time::Instant::now();
                if changes.platform {
                    eprintln!("dev: the platform changed: synth and deploy again");
                    match dev.reload_platform().await {
                        Ok(()) => eprintln!("dev: reloaded in {:.1} s", started.elapsed().as_secs_f64()),
                        Err(e) => eprintln!("dev: reload failed, the previous version keeps running: {e:#}"),
                    }
                } else {
                    let files: Vec<PathBuf> = changes.handlers.into_iter().collect();
                    match dev.reload_handlers(&files) {
                        Ok(swapped) => eprintln!(
                            "dev: {} reloaded in {:.1} s",
                            swapped.join(", "),
                            started.elapsed().as_secs_f64()
                        ),
                        Err(e) => eprintln!("dev: rebuild failed, the previous build keeps running: {e:#}"),
                    }
                }
            }
        }
    }
    eprintln!("dev: stopping");
    dev.stop().await?;
    eprintln!("dev: stopped");
    Ok(())
}
