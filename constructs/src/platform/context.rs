//! What every step reads: the configuration, the handler code, and how the platform's stacks are named.

use synth::{Stack, StackProps};

use super::config::{PlatformAssets, PlatformConfig};

/// The inputs every step shares. A step takes this, the scope of the stack it builds into, and what earlier steps
/// made; so a step knows nothing of where the others put things.
pub(super) struct Context<'a> {
    pub config: &'a PlatformConfig,
    pub assets: &'a PlatformAssets,
    /// `<name>-<stage>`: the prefix of stack and resource names.
    pub prefix: String,
}

impl<'a> Context<'a> {
    pub fn new(config: &'a PlatformConfig, assets: &'a PlatformAssets) -> Context<'a> {
        Context { config, assets, prefix: config.prefix() }
    }

    /// An empty stack `<prefix>-<name>` in `region`, tagged with `project`, `stage` and `cost-center` (the cost
    /// allocation tags: CloudFormation copies stack tags onto every resource of the stack that takes tags),
    /// protected from deletion in production.
    pub fn stack(&self, id: &str, name: &str, region: &str, description: &str) -> Stack {
        let config = self.config;
        let mut props = StackProps::new(id, format!("{}-{name}", self.prefix), region, config.stage.as_str());
        props.account = config.account.clone();
        props.description = Some(format!("{} {}: {description}", config.name, config.stage));
        props.tags.insert("project".into(), config.name.clone());
        props.tags.insert("stage".into(), config.stage.clone());
        props.tags.insert("cost-center".into(), config.cost_center().to_owned());
        props.termination_protection = config.production();
        Stack::new(props)
    }
}

/// `free` → `Free`, `us` → `Us`: words in construct ids.
pub(super) fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}
