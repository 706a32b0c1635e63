//! Renderings of a [`Report`]: text for a terminal, markdown for a pull-request comment (replacements and
//! broadening first, then everything per stack).

use std::fmt;

use serde_json::Value;

use super::{Action, Change, Impact, Report, ResourceDiff, StackDiff};

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.stacks.iter().try_for_each(|s| write!(f, "{s}"))
    }
}

impl fmt::Display for StackDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.new_stack {
            ": new stack"
        } else if self.has_changes() {
            ""
        } else {
            ": no changes"
        };
        writeln!(f, "Stack {} ({}){state}", self.id, self.name)?;
        for r in &self.resources {
            write!(f, "{r}")?;
        }
        for c in &self.outputs {
            writeln!(f, "{} {}", output_sign(c), c.path)?;
        }
        Ok(())
    }
}

impl fmt::Display for ResourceDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = match self.impact {
            Some(Impact::Replace) => "  (REPLACEMENT)",
            Some(Impact::MayReplace) => "  (may replace)",
            _ => "",
        };
        let state = if self.destroys_state() { "  [destroys data]" } else { "" };
        let retained = if self.retained { "  (retained)" } else { "" };
        writeln!(f, "{} {} {}{impact}{state}{retained}", sign(self.action), self.type_name, self.logical_id)?;
        for c in &self.changes {
            let note = match c.impact {
                Some(Impact::Replace) => "  [replacement]",
                Some(Impact::MayReplace) => "  [may replace]",
                _ => "",
            };
            writeln!(f, "    {}: {} -> {}{note}", c.path, show(&c.old), show(&c.new))?;
        }
        for b in &self.broadening {
            writeln!(f, "    broadens: {b}")?;
        }
        Ok(())
    }
}

impl Report {
    /// A pull-request comment: a summary table, then what needs a reviewer's eye (replacements, data loss,
    /// broadening), then every stack's changes in a collapsed block.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("## Infrastructure diff\n\n| Stack | Added | Modified | Removed | Replaced |\n");
        md.push_str("| --- | ---: | ---: | ---: | ---: |\n");
        for s in &self.stacks {
            let n = |a: Action| s.resources.iter().filter(|r| r.action == a).count();
            let replaced = s.resources.iter().filter(|r| r.replaces()).count();
            let name = if s.new_stack { format!("`{}` (new)", s.name) } else { format!("`{}`", s.name) };
            md.push_str(&format!(
                "| {name} | {} | {} | {} | {replaced} |\n",
                n(Action::Add),
                n(Action::Modify),
                n(Action::Remove)
            ));
        }
        let attention: Vec<(&StackDiff, &ResourceDiff)> = self
            .stacks
            .iter()
            .flat_map(|s| s.resources.iter().map(move |r| (s, r)))
            .filter(|(_, r)| r.replaces() || r.destroys_state() || !r.broadening.is_empty())
            .collect();
        if !attention.is_empty() {
            md.push_str("\n### Needs review\n\n");
            for (s, r) in attention {
                let mut why = Vec::new();
                if r.destroys_state() {
                    why.push("**destroys data**".to_owned());
                }
                if r.replaces() {
                    why.push(if r.impact == Some(Impact::Replace) { "replacement" } else { "may replace" }.to_owned());
                }
                why.extend(r.broadening.iter().map(|b| format!("broadens: {b}")));
                md.push_str(&format!("- `{}` `{}` ({}): {}\n", s.name, r.logical_id, r.type_name, why.join("; ")));
            }
        }
        for s in self.stacks.iter().filter(|s| s.has_changes()) {
            md.push_str(&format!("\n<details><summary>{} ({})</summary>\n\n```diff\n", s.name, s.id));
            for r in &s.resources {
                let text = r.to_string();
                // diff-highlighting wants + / - / ~ in the first column
                for line in text.lines() {
                    let lead = match r.action {
                        Action::Add => '+',
                        Action::Remove => '-',
                        Action::Modify => '!',
                    };
                    md.push(if line.starts_with('[') { lead } else { ' ' });
                    md.push_str(line);
                    md.push('\n');
                }
            }
            for c in &s.outputs {
                md.push_str(&format!(" {} {}\n", output_sign(c), c.path));
            }
            md.push_str("```\n\n</details>\n");
        }
        if !self.has_changes() {
            md.push_str("\nNo changes.\n");
        }
        md
    }
}

fn sign(a: Action) -> &'static str {
    match a {
        Action::Add => "[+]",
        Action::Remove => "[-]",
        Action::Modify => "[~]",
    }
}

fn output_sign(c: &Change) -> &'static str {
    match (&c.old, &c.new) {
        (None, _) => "[+]",
        (_, None) => "[-]",
        _ => "[~]",
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 120 { format!("{}...", s.chars().take(117).collect::<String>()) } else { s }
        }
    }
}
