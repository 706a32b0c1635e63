//! The templates' `AWS::Lambda::EventSourceMapping`s as typed settings, read through the assembly.

use serde_json::Value;

use crate::assembly::{Assembly, PhysicalIds, Resource, Stack};
use crate::gateway::model::Unsupported;

const KIND: &str = "AWS::Lambda::EventSourceMapping";

/// What a mapping polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An SQS queue (`arn:aws:sqs:...`).
    Sqs,
    /// A DynamoDB table's stream (`arn:aws:dynamodb:...:table/<t>/stream/<label>`).
    DynamoDbStream,
}

/// A resource a mapping names (its source or its on-failure destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The ARN as resolved with the caller's physical ids.
    pub arn: String,
    /// The logical id of the resource when the template names one of its own (`Fn::GetAtt [X, Arn]`): how the
    /// local cloud finds its physical resource.
    pub resource: Option<String>,
}

/// Where a stream's record reads begin (`StartingPosition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// Only records written after the poller starts.
    Latest,
    /// The oldest record still in the stream.
    TrimHorizon,
}

/// One event source mapping with the settings the local pollers honour. Defaults are Lambda's, from
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-eventsourcemapping.html>.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub logical_id: String,
    /// The function's logical id (what [`crate::invoke::Invoke`] takes).
    pub function: String,
    pub kind: SourceKind,
    pub source: Target,
    /// Default 10 for SQS, 100 for streams.
    pub batch_size: u32,
    /// Default 0: a batch is sent as soon as records are there.
    pub batching_window_seconds: u32,
    /// Streams only; required by CloudFormation for streams, `None` for SQS.
    pub starting_position: Option<StartingPosition>,
    /// Streams only. Default false.
    pub bisect_on_error: bool,
    /// Streams only. `None` is Lambda's default -1: retry until the record expires.
    pub maximum_retry_attempts: Option<u32>,
    /// Streams only. `None` is Lambda's default -1: records never expire (the stream's 24 h retention does).
    pub maximum_record_age_seconds: Option<u32>,
    /// Streams only: where the batch info of a discarded batch goes.
    pub on_failure: Option<Target>,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_batch_item_failures: bool,
    /// Default true.
    pub enabled: bool,
}

/// The mappings of an assembly, and what in them the local pollers do not do.
#[derive(Debug, Clone, Default)]
pub struct Mappings {
    pub mappings: Vec<Mapping>,
    /// Unsupported properties and values, by logical id: listed at start, never silently ignored.
    pub unsupported: Vec<Unsupported>,
}

/// A mapping property that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// A reference in the mapping does not resolve.
    #[error(transparent)]
    Resolve(#[from] crate::assembly::AssemblyError),
    /// A property has a value of the wrong type or out of range.
    #[error("stack {stack}, event source mapping {logical_id}: property {property} is {value}: {expected}")]
    Invalid { stack: String, logical_id: String, property: &'static str, value: String, expected: &'static str },
}

/// Properties read into [`Mapping`], or without effect locally (tags, filters are not: they are reported).
const KNOWN: &[&str] = &[
    "FunctionName",
    "EventSourceArn",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "StartingPosition",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "FunctionResponseTypes",
    "Enabled",
    "ParallelizationFactor",
    "Tags",
];

impl Mappings {
    /// Every `AWS::Lambda::EventSourceMapping` of `assembly`, references resolved with `ids`.
    pub fn from_assembly(assembly: &Assembly, ids: &dyn PhysicalIds) -> Result<Mappings, MappingError> {
        let mut out = Mappings::default();
        for (stack, resource) in assembly.resources_of(KIND) {
            let mut report = |feature: String| {
                out.unsupported.push(Unsupported {
                    logical_id: resource.logical_id.clone(),
                    kind: resource.kind.clone(),
                    feature,
                })
            };
            for key in resource.properties.keys() {
                if !KNOWN.contains(&key.as_str()) {
                    report(format!("property {key}"));
                }
            }
            // One batch per shard at a time is what the stream poller does: factor 1 only.
            if let Some(factor) = resource.prop("ParallelizationFactor")
                && factor.as_u64() != Some(1)
            {
                report(format!("ParallelizationFactor {factor} (only 1: one batch per shard at a time)"));
            }
            let reader = Reader { assembly, stack, resource, ids };
            out.mappings.push(reader.mapping(&mut report)?);
        }
        Ok(out)
    }
}

struct Reader<'a> {
    assembly: &'a Assembly,
    stack: &'a Stack,
    resource: &'a Resource,
    ids: &'a dyn PhysicalIds,
}

impl Reader<'_> {
    fn invalid(&self, property: &'static str, value: &Value, expected: &'static str) -> MappingError {
        MappingError::Invalid {
            stack: self.stack.id.clone(),
            logical_id: self.resource.logical_id.clone(),
            property,
            value: value.to_string(),
            expected,
        }
    }

    fn resolved(&self, property: &'static str) -> Result<Option<Value>, MappingError> {
        match self.resource.prop(property) {
            None => Ok(None),
            Some(v) => Ok(Some(self.assembly.resolve(self.stack, &self.resource.logical_id, v, self.ids)?)),
        }
    }

    fn number(&self, property: &'static str, min: i64, max: i64) -> Result<Option<i64>, MappingError> {
        let Some(v) = self.resolved(property)? else { return Ok(None) };
        // Templates may carry numbers as strings (CloudFormation accepts both).
        let n = match &v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(self.invalid(property, &v, "an integer in Lambda's range is expected")),
        }
    }

    fn boolean(&self, property: &'static str, default: bool) -> Result<bool, MappingError> {
        match self.resolved(property)? {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            Some(v) => Err(self.invalid(property, &v, "true or false is expected")),
        }
    }

    /// A property naming a resource: its resolved ARN and, for `Fn::GetAtt [X, ..]`, `X`.
    fn target(&self, value: &Value, property: &'static str) -> Result<Target, MappingError> {
        let arn = self.assembly.resolve_str(self.stack, &self.resource.logical_id, value, self.ids)?;
        let resource = value
            .get("Fn::GetAtt")
            .and_then(|a| match a {
                Value::Array(a) => a.first().and_then(Value::as_str),
                Value::String(s) => s.split('.').next(),
                _ => None,
            })
            .filter(|name| self.stack.resources.contains_key(*name))
            .map(str::to_owned);
        if arn.is_empty() {
            return Err(self.invalid(property, value, "an ARN is expected"));
        }
        Ok(Target { arn, resource })
    }

    /// SQS or a DynamoDB stream: from the type of the resource the template names, else from the ARN.
    fn source_kind(&self, source: &Target, raw: &Value) -> Result<SourceKind, MappingError> {
        let by_resource = source.resource.as_ref().and_then(|r| self.stack.resources.get(r)).map(|r| r.kind.as_str());
        match by_resource {
            Some("AWS::SQS::Queue") => return Ok(SourceKind::Sqs),
            Some("AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable") => return Ok(SourceKind::DynamoDbStream),
            _ => {}
        }
        if source.arn.starts_with("arn:aws:sqs:") {
            Ok(SourceKind::Sqs)
        } else if source.arn.starts_with("arn:aws:dynamodb:") && source.arn.contains("/stream/") {
            Ok(SourceKind::DynamoDbStream)
        } else {
            Err(self.invalid("EventSourceArn", raw, "an SQS queue or a DynamoDB stream is expected"))
        }
    }

    fn mapping(&self, report: &mut dyn FnMut(String)) -> Result<Mapping, MappingError> {
        let raw_function = self.resource.prop("FunctionName").cloned().unwrap_or(Value::Null);
        let function_ref = self.target(&raw_function, "FunctionName")?;
        // A function ARN, `name:alias`, or a name: the logical id of a local function is its last name segment.
        let function = match function_ref.arn.split_once(":function:") {
            Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_owned(),
            None => function_ref.arn.clone(),
        };
        let raw_source = self.resource.prop("EventSourceArn").cloned().unwrap_or(Value::Null);
        let source = self.target(&raw_source, "EventSourceArn")?;
        let kind = self.source_kind(&source, &raw_source)?;
        let stream = kind == SourceKind::DynamoDbStream;
        // Limits: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
        let batch_size = self.number("BatchSize", 1, 10_000)?.unwrap_or(if stream { 100 } else { 10 });
        let batching_window_seconds = self.number("MaximumBatchingWindowInSeconds", 0, 300)?.unwrap_or(0);
        let starting_position = match self.resolved("StartingPosition")? {
            None => None,
            Some(Value::String(s)) if s == "LATEST" => Some(StartingPosition::Latest),
            Some(Value::String(s)) if s == "TRIM_HORIZON" => Some(StartingPosition::TrimHorizon),
            Some(v) => {
                report(format!("StartingPosition {v} (LATEST and TRIM_HORIZON are)"));
                None
            }
        };
        let retries = self.number("MaximumRetryAttempts", -1, 10_000)?;
        let age = self.number("MaximumRecordAgeInSeconds", -1, 604_800)?;
        let on_failure = match self.resource.prop("DestinationConfig").and_then(|d| d.get("OnFailure")) {
            None => None,
            Some(f) => {
                let destination = f.get("Destination").cloned().unwrap_or(Value::Null);
                let target = self.target(&destination, "DestinationConfig")?;
                if !target.arn.starts_with("arn:aws:sqs:")
                    && target.resource.as_ref().and_then(|r| self.stack.resources.get(r)).map(|r| r.kind.as_str())
                        != Some("AWS::SQS::Queue")
                {
                    report(format!("on-failure destination {} (only SQS queues)", target.arn));
                }
                Some(target)
            }
        };
        let mut report_batch_item_failures = false;
        if let Some(types) = self.resolved("FunctionResponseTypes")? {
            for t in types.as_array().into_iter().flatten() {
                match t.as_str() {
                    Some("ReportBatchItemFailures") => report_batch_item_failures = true,
                    _ => report(format!("FunctionResponseTypes {t} (ReportBatchItemFailures is)")),
                }
            }
        }
        if !stream {
            for p in ["StartingPosition", "BisectBatchOnFunctionError", "MaximumRetryAttempts", "DestinationConfig"] {
                if self.resource.prop(p).is_some() {
                    report(format!("property {p} on an SQS source (Lambda allows it on streams only)"));
                }
            }
        } else if batching_window_seconds > 0 {
            report("MaximumBatchingWindowInSeconds on a stream source (stream batches are sent as read)".into());
        } else if starting_position.is_none() && self.resource.prop("StartingPosition").is_none() {
            report("no StartingPosition (a stream source needs one; TRIM_HORIZON is used)".into());
        }
        Ok(Mapping {
            logical_id: self.resource.logical_id.clone(),
            function,
            kind,
            source,
            batch_size: u32::try_from(batch_size).unwrap_or(u32::MAX),
            batching_window_seconds: u32::try_from(batching_window_seconds).unwrap_or(0),
            starting_position: if stream {
                Some(starting_position.unwrap_or(StartingPosition::TrimHorizon))
            } else {
                starting_position
            },
            bisect_on_error: self.boolean("BisectBatchOnFunctionError", false)?,
            maximum_retry_attempts: retries.and_then(|n| u32::try_from(n).ok()),
            maximum_record_age_seconds: age.and_then(|n| u32::try_from(n).ok()),
            on_failure,
            report_batch_item_failures,
            enabled: self.boolean("Enabled", true)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::assembly::LocalIds;

    fn mappings(resources: Value) -> Result<Mappings, MappingError> {
        let stack = Stack::from_template(
            "Regional".into(),
            "app-regional".into(),
            "eu-west-1".into(),
            &json!({ "Resources": resources }),
        )
        .unwrap();
        Mappings::from_assembly(&Assembly { stacks: vec![stack] }, &LocalIds)
    }

    fn base() -> Value {
        json!({
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Q": {"Type": "AWS::SQS::Queue"},
            "T": {"Type": "AWS::DynamoDB::Table"},
        })
    }

    fn with(mapping: Value) -> Value {
        let mut r = base();
        r["M"] = json!({"Type": KIND, "Properties": mapping});
        r
    }

    #[test]
    fn an_sqs_mapping_takes_lambda_defaults() {
        let m = mappings(with(json!({
            "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
            "EventSourceArn": {"Fn::GetAtt": ["Q", "Arn"]},
        })))
        .unwrap();
        assert_eq!(m.unsupported, []);
        let m = &m.mappings[0];
        assert_eq!((m.function.as_str(), m.kind, m.source.resource.as_deref()), ("Fn", SourceKind::Sqs, Some("Q")));
        assert_eq!((m.batch_size, m.batching_window_seconds, m.enabled), (10, 0, true));
        assert_eq!((m.starting_position, m.report_batch_item_failures), (None, false));
    }

    #[test]
    fn a_stream_mapping_reads_every_setting() {
        let m = mappings(with(json!({
            "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:Fn:live",
            "EventSourceArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2024",
            "BatchSize": "7",
            "StartingPosition": "LATEST",
            "BisectBatchOnFunctionError": true,
            "MaximumRetryAttempts": -1,
            "MaximumRecordAgeInSeconds": 60,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Q", "Arn"]}}},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": false,
        })))
        .unwrap();
        assert_eq!(m.unsupported, []);
        let m = &m.mappings[0];
        assert_eq!(
            (m.function.as_str(), m.kind, m.source.resource.as_deref()),
            ("Fn", SourceKind::DynamoDbStream, None)
        );
        assert_eq!((m.batch_size, m.starting_position), (7, Some(StartingPosition::Latest)));
        assert_eq!((m.bisect_on_error, m.maximum_retry_attempts, m.maximum_record_age_seconds), (true, None, Some(60)));
        assert_eq!(m.on_failure.as_ref().and_then(|t| t.resource.as_deref()), Some("Q"));
        assert!(m.report_batch_item_failures && !m.enabled);
    }

    #[test]
    fn unsupported_settings_are_listed_by_logical_id() {
        let m = mappings(with(json!({
            "FunctionName": {"Ref": "Fn"},
            "EventSourceArn": {"Fn::GetAtt": ["T", "StreamArn"]},
            "StartingPosition": "AT_TIMESTAMP",
            "FilterCriteria": {"Filters": []},
            "ParallelizationFactor": 2,
        })))
        .unwrap();
        let features: Vec<_> = m.unsupported.iter().map(|u| format!("{}: {}", u.logical_id, u.feature)).collect();
        assert_eq!(
            features,
            [
                "M: property FilterCriteria",
                "M: ParallelizationFactor 2 (only 1: one batch per shard at a time)",
                "M: StartingPosition \"AT_TIMESTAMP\" (LATEST and TRIM_HORIZON are)",
            ]
        );
    }

    #[test]
    fn bad_values_name_the_mapping_the_property_and_the_value() {
        let err = mappings(with(json!({
            "FunctionName": {"Ref": "Fn"},
            "EventSourceArn": {"Fn::GetAtt": ["Q", "Arn"]},
            "BatchSize": 0,
        })))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "stack Regional, event source mapping M: property BatchSize is 0: an integer in Lambda's range is expected"
        );
        let err =
            mappings(with(json!({"FunctionName": {"Ref": "Fn"}, "EventSourceArn": "arn:aws:kinesis:x"}))).unwrap_err();
        assert!(err.to_string().ends_with("an SQS queue or a DynamoDB stream is expected"), "{err}");
    }
}
