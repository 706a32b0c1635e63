//! An execution's history, as Step Functions records it (state entered and exited, task scheduled, succeeded,
//! failed or timed out, retries with their delays, errors caught), printable one event a line.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// One event, at `elapsed` since the execution started (virtual time under a fake clock).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub elapsed: Duration,
    pub event: Event,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ExecutionStarted {
        input: Value,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
    ExecutionTimedOut,
    StateEntered {
        state: String,
        input: Value,
    },
    StateExited {
        state: String,
        output: Value,
    },
    TaskScheduled {
        state: String,
        resource: String,
        parameters: Value,
    },
    TaskSucceeded {
        state: String,
        output: Value,
    },
    TaskFailed {
        state: String,
        error: String,
        cause: String,
    },
    TaskTimedOut {
        state: String,
        seconds: u64,
    },
    /// Retry number `attempt` (1-based) of the retrier at `retrier`, after `delay`.
    RetryScheduled {
        state: String,
        error: String,
        retrier: usize,
        attempt: u64,
        delay: Duration,
    },
    /// The error matched the catcher at `catcher`, which goes to `next`.
    ErrorCaught {
        state: String,
        error: String,
        catcher: usize,
        next: String,
    },
    ChoiceMade {
        state: String,
        next: String,
    },
    WaitStarted {
        state: String,
        delay: Duration,
    },
    MapIterationStarted {
        state: String,
        index: usize,
    },
    ParallelBranchStarted {
        state: String,
        index: usize,
    },
}

/// At most this many characters of a JSON value on a line: histories are read by people.
const SHOWN: usize = 160;

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= SHOWN {
        s
    } else {
        let cut: String = s.chars().take(SHOWN).collect();
        format!("{cut}…")
    }
}

impl fmt::Display for HistoryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>9.3}s  ", self.elapsed.as_secs_f64())?;
        match &self.event {
            Event::ExecutionStarted { input } => write!(f, "ExecutionStarted      input {}", short(input)),
            Event::ExecutionSucceeded { output } => write!(f, "ExecutionSucceeded    output {}", short(output)),
            Event::ExecutionFailed { error, cause } => write!(f, "ExecutionFailed       {error}: {cause}"),
            Event::ExecutionTimedOut => write!(f, "ExecutionTimedOut"),
            Event::StateEntered { state, input } => write!(f, "StateEntered          {state}  input {}", short(input)),
            Event::StateExited { state, output } => {
                write!(f, "StateExited           {state}  output {}", short(output))
            }
            Event::TaskScheduled { state, resource, parameters } => {
                write!(f, "TaskScheduled         {state}  {resource} {}", short(parameters))
            }
            Event::TaskSucceeded { state, output } => write!(f, "TaskSucceeded         {state}  {}", short(output)),
            Event::TaskFailed { state, error, cause } => write!(f, "TaskFailed            {state}  {error}: {cause}"),
            Event::TaskTimedOut { state, seconds } => write!(f, "TaskTimedOut          {state}  after {seconds} s"),
            Event::RetryScheduled { state, error, retrier, attempt, delay } => write!(
                f,
                "RetryScheduled        {state}  {error}: retry {attempt} of retrier {retrier} in {:.3} s",
                delay.as_secs_f64()
            ),
            Event::ErrorCaught { state, error, catcher, next } => {
                write!(f, "ErrorCaught           {state}  {error} by catcher {catcher}, next {next}")
            }
            Event::ChoiceMade { state, next } => write!(f, "ChoiceMade            {state}  next {next}"),
            Event::WaitStarted { state, delay } => {
                write!(f, "WaitStarted           {state}  {:.3} s", delay.as_secs_f64())
            }
            Event::MapIterationStarted { state, index } => write!(f, "MapIterationStarted   {state}  item {index}"),
            Event::ParallelBranchStarted { state, index } => {
                write!(f, "ParallelBranchStarted {state}  branch {index}")
            }
        }
    }
}

/// The whole history, one event a line.
pub fn render(history: &[HistoryEvent]) -> String {
    history.iter().map(|e| format!("{e}\n")).collect()
}
