//! The file watcher of reload (notify: inotify on Linux): changes under `handlers/`, `constructs/`, `stages/`,
//! gathered for a short quiet period (an editor's save is several events) and classified.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// What a batch of changes asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// Handler sources changed: these files (rebuild their crates, swap the sandboxes).
    pub handlers: BTreeSet<PathBuf>,
    /// The platform's code or a stage file changed: re-synthesize and re-deploy.
    pub platform: bool,
}

/// A change batch is sent once no event came for this long.
const QUIET: Duration = Duration::from_millis(300);

/// Watches the project under `root`; the returned watcher must be kept alive.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
    events: mpsc::UnboundedReceiver<PathBuf>,
    root: PathBuf,
}

impl Watch {
    pub fn start(root: &Path) -> Result<Watch> {
        let (tx, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res
                && !matches!(event.kind, notify::EventKind::Access(_))
            {
                for p in event.paths {
                    let _ = tx.send(p);
                }
            }
        })
        .context("starting the file watcher")?;
        for dir in ["handlers", "constructs", "stages"] {
            let path = root.join(dir);
            if path.exists() {
                watcher
                    .watch(&path, RecursiveMode::Recursive)
                    .with_context(|| format!("watching {}", path.display()))?;
            }
        }
        Ok(Watch { _watcher: watcher, events, root: root.to_owned() })
    }

    /// The next batch of relevant changes (waits for the first, then for a quiet period).
    pub async fn next(&mut self) -> Option<Changes> {
        loop {
            let first = self.events.recv().await?;
            let mut changes = Changes::default();
            self.classify(&first, &mut changes);
            loop {
                match tokio::time::timeout(QUIET, self.events.recv()).await {
                    Ok(Some(p)) => self.classify(&p, &mut changes),
                    Ok(None) => return None,
                    Err(_) => break,
                }
            }
            if changes.platform || !changes.handlers.is_empty() {
                return Some(changes);
            }
        }
    }

    fn classify(&self, path: &Path, changes: &mut Changes) {
        if let Some(kind) = classify(&self.root, path) {
            match kind {
                Kind::Handler => {
                    changes.handlers.insert(path.to_owned());
                }
                Kind::Platform => changes.platform = true,
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Handler,
    Platform,
}

/// Sources only: Rust files, manifests and stage files; editor swap and backup files are not changes.
fn classify(root: &Path, path: &Path) -> Option<Kind> {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let name = relative.file_name()?.to_str()?;
    if name.starts_with('.') || name.ends_with('~') || relative.components().any(|c| c.as_os_str() == "target") {
        return None;
    }
    let source = name.ends_with(".rs") || name.ends_with(".toml") || name.ends_with(".json");
    if !source {
        return None;
    }
    let top = relative.components().next()?.as_os_str().to_str()?;
    match top {
        "handlers" => Some(Kind::Handler),
        "constructs" | "stages" => Some(Kind::Platform),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_classified_and_editor_files_are_not() {
        let root = Path::new("/p");
        let c = |p: &str| classify(root, Path::new(p));
        assert_eq!(c("/p/handlers/api/src/lib.rs"), Some(Kind::Handler));
        assert_eq!(c("/p/handlers/powertools/Cargo.toml"), Some(Kind::Handler));
        assert_eq!(c("/p/constructs/src/platform/mod.rs"), Some(Kind::Platform));
        assert_eq!(c("/p/stages/local.toml"), Some(Kind::Platform));
        assert_eq!(c("/p/handlers/api/src/.lib.rs.swp"), None);
        assert_eq!(c("/p/handlers/api/src/lib.rs~"), None);
        assert_eq!(c("/p/handlers/api/README.md"), None);
        assert_eq!(c("/p/README.md"), None);
    }
}
