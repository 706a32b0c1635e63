//! Progress on a terminal (indicatif): one spinner per stack with its elapsed time and latest event, and every
//! stack event printed above the bars as a line (resource, type, status, reason). Without a terminal the bars are
//! hidden and the lines still go to stderr, so logs of a CI run keep the events.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of one command.
#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    /// Event lines are printed (quiet in tests and for `--output json` consumers that want only stdout).
    pub verbose: bool,
}

impl Progress {
    /// Bars on stderr when it is a terminal.
    pub fn new(verbose: bool) -> Progress {
        Progress { multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()), verbose }
    }

    /// Nothing drawn, nothing printed (library use, tests).
    pub fn hidden() -> Progress {
        Progress { multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()), verbose: false }
    }

    /// A spinner for one stack.
    pub fn stack(&self, name: &str) -> StackBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        let style = ProgressStyle::with_template("{spinner} {prefix:.bold} [{elapsed}] {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(name.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        StackBar { bar, name: name.to_owned(), multi: self.multi.clone(), verbose: self.verbose }
    }

    /// Runs `f` with the bars cleared (a prompt).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }
}

/// The spinner of one stack.
pub struct StackBar {
    bar: ProgressBar,
    name: String,
    multi: MultiProgress,
    verbose: bool,
}

impl StackBar {
    pub fn set_message(&self, m: &str) {
        self.bar.set_message(m.to_owned());
    }

    /// A stack event: the bar's message, and a line above the bars.
    pub fn event(&self, line: &str) {
        self.bar.set_message(line.to_owned());
        if self.verbose {
            let text = format!("{} [{:>5.1}s] {line}", self.name, self.bar.elapsed().as_secs_f64());
            if self.multi.is_hidden() {
                eprintln!("{text}");
            } else {
                let _ = self.multi.println(text);
            }
        }
    }

    pub fn finish_with_message(&self, m: impl Into<String>) {
        self.bar.finish_with_message(m.into());
    }

    pub fn abandon_with_message(&self, m: &str) {
        self.bar.abandon_with_message(m.to_owned());
    }
}
