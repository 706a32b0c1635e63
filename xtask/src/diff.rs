//! `cargo xtask diff [--against DIR] [--output text|json|markdown] [--fail]`: what a synth of the current code
//! changes compared with a directory of templates (by default the last `cargo xtask synth` output), resource by
//! resource. The diff itself (update behaviour from the generated create-only tables, stateful resources,
//! broadening) is `constructs::diff`, shared with the deploy engine; `--live` (against the deployed stacks) is
//! forwarded to `rcdk-deploy`, which links the AWS SDK that this crate must not.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use constructs::diff::{Report, diff_stack};
use serde_json::Value;

use crate::out::{self, say};
use crate::project_root;

#[derive(clap::Args, Debug)]
pub struct Diff {
    /// Directory of previously synthesized templates (`<stack id>.template.json`).
    #[arg(long, default_value = "rcdk.out")]
    pub against: PathBuf,
    /// Stage to synthesize.
    #[arg(long, default_value = "dev")]
    pub stage: String,
    /// Another app than the default (see `synth --app`).
    #[arg(long)]
    pub app: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Exit with an error when anything changed.
    #[arg(long)]
    pub fail: bool,
    /// Against the deployed stacks instead of a directory (forwarded to rcdk-deploy, which links the SDK).
    #[arg(long)]
    pub live: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
    /// A pull-request comment: summary table, what needs review first, then each stack.
    Markdown,
}

impl Diff {
    pub fn run(self) -> Result<()> {
        if self.live {
            let mut args = vec!["--live".to_owned(), "--stage".to_owned(), self.stage.clone()];
            args.extend(["--output".to_owned(), format!("{:?}", self.output).to_lowercase()]);
            if let Some(app) = &self.app {
                args.extend(["--app".to_owned(), app.clone()]);
            }
            if self.fail {
                args.push("--fail".to_owned());
            }
            return crate::forward::run("diff", &args);
        }
        let root = project_root();
        let app = constructs::app::build(&root, self.app.as_deref(), &self.stage, &[])?;
        let assembly = constructs::app::synthesize(&app)?;
        let against = root.join(&self.against);
        let mut report = Report::default();
        for s in &assembly.stacks {
            let old = read_template(&against.join(&s.template_file))?;
            let new: Value = serde_json::from_str(&s.template)?;
            report.stacks.push(diff_stack(&s.id, &s.name, old.as_ref(), &new));
        }
        match self.output {
            Output::Text => out::text(&report.to_string())?,
            Output::Json => say!("{}", serde_json::to_string_pretty(&report)?)?,
            Output::Markdown => out::text(&report.to_markdown())?,
        }
        if self.fail && report.has_changes() {
            bail!("templates changed");
        }
        Ok(())
    }
}

fn read_template(path: &Path) -> Result<Option<Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
