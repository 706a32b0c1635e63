//! AWS Step Functions, locally: an interpreter of the Amazon States Language documents of the templates.
//!
//! [`definition::from_properties`] reads an `AWS::StepFunctions::StateMachine` (refusing, with the state's
//! name, anything it cannot run), [`exec::execute`] runs it with the calls going through [`exec::Integrations`]
//! and time through [`time::Clock`], and returns the outcome with its history.

pub mod choice;
pub mod data;
pub mod definition;
pub mod exec;
pub mod history;
pub mod path;
pub mod template;
pub mod time;

pub use definition::{Definition, from_properties};
pub use exec::{EntryResult, Execution, ExecutionOptions, Integrations, Status, TaskFailure, execute};
pub use history::{Event, HistoryEvent};
pub use time::{Clock, FakeClock, SystemClock};

use std::collections::BTreeMap;

use serde_json::Value;

/// Why a state machine of a template cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatesError {
    /// The definition (`at` names the state, or the part of the resource) uses something the interpreter does
    /// not support, or is malformed.
    #[error("state machine definition, at {at}: {problem}")]
    Definition { at: String, problem: String },
    /// A state machine resource of the template (its logical id) that failed to read.
    #[error("state machine {logical_id}: {source}")]
    Resource {
        logical_id: String,
        #[source]
        source: Box<StatesError>,
    },
}

/// Every `AWS::StepFunctions::StateMachine` of `template` by logical id, or every one that failed.
pub fn state_machines(
    template: &Value,
    resolver: &dyn template::Resolver,
) -> Result<BTreeMap<String, Definition>, Vec<StatesError>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (id, r) in template.get("Resources").and_then(Value::as_object).into_iter().flatten() {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::StepFunctions::StateMachine") {
            continue;
        }
        match from_properties(r.get("Properties").unwrap_or(&Value::Null), resolver) {
            Ok(d) => {
                out.insert(id.clone(), d);
            }
            Err(e) => errors.push(StatesError::Resource { logical_id: id.clone(), source: Box::new(e) }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn every_machine_of_a_template_or_every_failure() {
        let ok = json!({"Definition": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}});
        let bad = json!({"Definition": {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}}});
        let t = json!({"Resources": {
            "Good": {"Type": "AWS::StepFunctions::StateMachine", "Properties": ok},
            "Bad": {"Type": "AWS::StepFunctions::StateMachine", "Properties": bad},
            "Other": {"Type": "AWS::SQS::Queue"}
        }});
        let errs = state_machines(&t, &template::Table::default()).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].to_string().starts_with("state machine Bad: state machine definition, at A: Resource"),
            "{}",
            errs[0]
        );
        let t = json!({"Resources": {"Good": t["Resources"]["Good"].clone()}});
        let machines = state_machines(&t, &template::Table::default()).unwrap();
        assert_eq!(machines["Good"].start_at, "A");
    }
}
