//! The apps the toolkit synthesizes, built and synthesized in one place: `cargo xtask synth`/`diff` and the deploy
//! engine (`rcdk-deploy`) call the same functions, so a deploy ships exactly what `synth` shows.
//!
//! The default app is the platform as `stages/<stage>.toml` configures it (with `--set` overrides); the others are
//! the L1 sample (`sample`), a synthetic app of N resources (`scaled:N`) and the platform with N extra routes
//! (`platform:N`). Every app is synthesized with the rule pack.

use std::path::Path;

use synth::{App, Assembly};

use crate::platform::PlatformConfig;
use crate::platform::stage::{self, Override};

/// Why an app could not be built, synthesized or written.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A handler crate could not be hashed.
    #[error("hashing the handler crates: {0}")]
    Asset(#[from] crate::assets::AssetError),
    /// The platform refused its configuration.
    #[error(transparent)]
    Platform(#[from] crate::platform::PlatformError),
    /// The stage file has problems (every one is listed).
    #[error(transparent)]
    Stage(#[from] stage::StageError),
    /// No stage file of that name.
    #[error("no stage {stage:?}: {file} does not exist (stages: {known})")]
    NoStage { stage: String, file: String, known: String },
    /// The stage file could not be read.
    #[error("reading {file}: {source}")]
    ReadStage { file: String, source: std::io::Error },
    /// Validation or the rule pack found errors (every one is listed).
    #[error("{0}")]
    Synth(#[from] synth::SynthError),
    /// `--app` named no known app.
    #[error("unknown app {0:?}; use `sample`, `scaled:N` or `platform:N` (or no --app for the default)")]
    UnknownApp(String),
    /// `--stack` matched no stack.
    #[error("no stack {wanted:?}; the app has: {known}")]
    UnknownStack { wanted: String, known: String },
    /// The output directory could not be written.
    #[error("writing {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// The app `cargo xtask synth` builds: the platform as `stages/<stage>.toml` configures it, the workspace's handler
/// crates as assets (hashed, never built).
pub fn default_app(root: &Path, stage: &str, overrides: &[Override]) -> Result<App, AppError> {
    platform(root, stage, overrides, 0)
}

/// The app named by `--app` (`None`: the default app).
pub fn build(root: &Path, name: Option<&str>, stage: &str, overrides: &[Override]) -> Result<App, AppError> {
    let Some(name) = name else { return default_app(root, stage, overrides) };
    let worker = || crate::assets::rust_lambda(root, "handlers/webhook-worker");
    let count = |n: &str| n.parse::<usize>().map_err(|_| AppError::UnknownApp(name.to_owned()));
    match name.split_once(':') {
        None if name == "sample" => Ok(crate::sample::app(stage, worker()?)),
        Some(("platform", n)) => platform(root, stage, overrides, count(n)?),
        Some(("scaled", n)) => Ok(crate::sample::scaled(count(n)?, worker()?)),
        _ => Err(AppError::UnknownApp(name.to_owned())),
    }
}

/// The configuration of `stage`: its stage file with `overrides` applied, every problem reported at once.
pub fn load_stage(root: &Path, stage: &str, overrides: &[Override]) -> Result<PlatformConfig, AppError> {
    let dir = root.join(stage::STAGES_DIR);
    let file = format!("{}/{stage}.toml", stage::STAGES_DIR);
    let text = match std::fs::read_to_string(dir.join(format!("{stage}.toml"))) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut known: Vec<String> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            known.sort();
            return Err(AppError::NoStage { stage: stage.to_owned(), file, known: known.join(", ") });
        }
        Err(source) => return Err(AppError::ReadStage { file, source }),
    };
    Ok(stage::parse(&file, stage, &text, overrides)?)
}

/// The platform for `stage` with `extra_routes` more routes (each with a function of its own).
fn platform(root: &Path, stage: &str, overrides: &[Override], extra_routes: usize) -> Result<App, AppError> {
    let config = load_stage(root, stage, overrides)?.with_extra_routes(extra_routes);
    let assets = crate::platform::PlatformAssets::load(root)?;
    Ok(crate::platform::build(&config, &assets)?)
}

/// Synthesizes `app` with every check synth has: validation and the rule pack, for every app (the L1 sample and
/// scaled apps included: they are built to pass it).
pub fn synthesize(app: &App) -> Result<Assembly, AppError> {
    Ok(app.synth_with(&crate::rules::all())?)
}

/// Writes the templates of the stacks `only` selects (by id or CloudFormation name; all when `None`) and the
/// manifest to `out`; nothing is written when the selection matches no stack.
pub fn write(assembly: &Assembly, out: &Path, only: Option<&str>) -> Result<(), AppError> {
    let selected: Vec<_> = assembly.stacks.iter().filter(|s| only.is_none_or(|o| s.id == o || s.name == o)).collect();
    if selected.is_empty() {
        let known: Vec<String> = assembly.stacks.iter().map(|s| format!("{} ({})", s.id, s.name)).collect();
        return Err(AppError::UnknownStack { wanted: only.unwrap_or_default().to_owned(), known: known.join(", ") });
    }
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| AppError::Write { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    for s in selected {
        let path = out.join(&s.template_file);
        std::fs::write(&path, &s.template).map_err(io(&path))?;
    }
    let path = out.join("manifest.json");
    std::fs::write(&path, assembly.manifest_json()).map_err(io(&path))
}
