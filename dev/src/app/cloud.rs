//! The local cloud of `cargo xtask dev`: moto started as `deploy --stage local` starts it, the stage deployed
//! through the deploy crate's library, what moto's CloudFormation skips and the handlers need created by hand
//! (the secrets, the usage plans' API keys), and the physical ids read back ([`CloudIds`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use aws_types::SdkConfig;
use deploy::engine::{Capabilities, DeployOptions, Engine};
use deploy::local::{Local, LocalDir};
use deploy::package::BuildTarget;
use deploy::plan::RequireApproval;
use deploy::progress::Progress;

use crate::assembly::{Assembly, LocalIds, PhysicalIds, Resource, Stack, function_arn};

/// The dummy credentials of the local cloud (moto accepts any): what the handlers and the SDK clients sign with.
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";

/// The running local cloud: moto's process (ours: stopped on exit) and an SDK configuration pointed at it.
pub struct Cloud {
    pub dir: LocalDir,
    pub local: Local,
    pub config: SdkConfig,
    pub region: String,
    pub account: String,
}

impl Cloud {
    /// Starts a fresh moto under `<out>/local/` on a free port (a server left by an earlier run that did not stop
    /// is stopped first: its state is stale) and the SDK configuration for `region`.
    pub async fn start(root: &Path, out: &Path, region: &str) -> Result<Cloud> {
        let dir = LocalDir::new(out);
        dir.stop().context("stopping the local cloud of an earlier run")?;
        let local = dir.start(root, 0)?;
        let config = deploy::aws::base_config(Some(&local.endpoint())).await;
        let config = config.to_builder().region(aws_types::region::Region::new(region.to_owned())).build();
        let account = deploy::aws::account(&config).await?;
        Ok(Cloud { dir, local, config, region: region.to_owned(), account })
    }

    pub fn endpoint(&self) -> String {
        self.local.endpoint()
    }

    /// Stops moto (our process, by the pid recorded when it started).
    pub fn stop(&self) -> Result<()> {
        self.dir.stop()?;
        Ok(())
    }

    /// Deploys `assembly` (synthesized for the local stage) as `cargo xtask deploy --stage local` does: bootstrap,
    /// host zips built and uploaded, every stack created or updated, no approval asked.
    /// The event source mappings are taken out of `assembly` first ([`without_event_source_mappings`]).
    pub async fn deploy(&self, out: &Path, assembly: &mut synth::Assembly, progress: bool) -> Result<()> {
        without_event_source_mappings(assembly)?;
        let assembly = &*assembly;
        let regions = deploy::cli::regions(assembly);
        let clients = deploy::aws::clients(&self.config, regions, &self.account);
        let progress = if progress { Progress::new(true) } else { Progress::hidden() };
        let engine = Arc::new(Engine::new(clients, Capabilities::MOTO, progress));
        let opts = DeployOptions { require_approval: RequireApproval::Never, concurrency: 4, ..Default::default() };
        let report = deploy::cli::deploy_assembly(&engine, BuildTarget::Host, out, assembly, &opts, false).await?;
        let outputs = out.join("outputs.json");
        std::fs::write(&outputs, serde_json::to_string_pretty(&report.outputs())? + "\n")
            .with_context(|| format!("writing {}", outputs.display()))?;
        Ok(())
    }

    /// The physical ids of every stack of `assembly` (`DescribeStackResources`), the streams of its tables, and
    /// the secrets and API keys moto's CloudFormation skips, created here (kept from `previous` on a re-deploy).
    pub async fn ids(&self, assembly: &Assembly, previous: Option<&CloudIds>) -> Result<CloudIds> {
        let cfn = deploy::aws::Clients::from_config(&self.config, &self.region, &self.account).cfn;
        let ddb = aws_sdk_dynamodb::Client::new(&self.config);
        let mut ids = CloudIds { region: self.region.clone(), account: self.account.clone(), ..CloudIds::default() };
        for stack in &assembly.stacks {
            let out = cfn.describe_stack_resources().stack_name(&stack.name).send().await.map_err(|e| {
                anyhow!(
                    "DescribeStackResources of {}: {}",
                    stack.name,
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
            for r in out.stack_resources() {
                if let (Some(logical), Some(physical)) = (r.logical_resource_id(), r.physical_resource_id()) {
                    ids.physical.insert((stack.name.clone(), logical.to_owned()), physical.to_owned());
                }
            }
            for resource in stack.resources.values().filter(|r| r.kind == "AWS::DynamoDB::Table") {
                let Some(table) = ids.physical.get(&(stack.name.clone(), resource.logical_id.clone())).cloned() else {
                    continue;
                };
                let described = ddb.describe_table().table_name(&table).send().await.map_err(|e| {
                    anyhow!("DescribeTable {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))
                })?;
                if let Some(arn) = described.table().and_then(|t| t.latest_stream_arn()) {
                    ids.streams.insert((stack.name.clone(), resource.logical_id.clone()), arn.to_owned());
                }
            }
        }
        match previous {
            Some(p) => {
                for (stack, resource) in assembly
                    .resources_of("AWS::SecretsManager::Secret")
                    .chain(assembly.resources_of("AWS::ApiGateway::ApiKey"))
                {
                    let key = (stack.name.clone(), resource.logical_id.clone());
                    if let Some(v) = p.physical.get(&key) {
                        ids.physical.insert(key, v.clone());
                    }
                    if let Some(v) = p.api_key_values.get(&resource.logical_id) {
                        ids.api_key_values.insert(resource.logical_id.clone(), v.clone());
                    }
                    ids.secret_values.extend(p.secret_values.clone());
                }
            }
            None => {
                self.create_secrets(assembly, &mut ids).await?;
                self.create_api_keys(assembly, &mut ids).await?;
            }
        }
        self.configure_bucket_notifications(assembly, &ids).await?;
        Ok(ids)
    }

    /// Every bucket's `NotificationConfiguration` of the templates that moto's CloudFormation did not apply (it
    /// applies a bucket's encryption and tags only, `deploy/MOTO.md`): the queue configurations, resolved, put
    /// through S3's API (`PUT /<bucket>?notification`), unless the bucket already has one (a reload). moto then
    /// sends the queue each matching `ObjectCreated` in process, as S3 does, and the local pollers deliver it.
    async fn configure_bucket_notifications(&self, assembly: &Assembly, ids: &CloudIds) -> Result<()> {
        let credentials = aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "rcdk-dev");
        let client = powertools::http::HttpClient::new(std::time::Duration::from_secs(10))?;
        let endpoint = self.endpoint();
        let host = endpoint.split("://").nth(1).unwrap_or_default().to_owned();
        for (stack, resource) in assembly.resources_of("AWS::S3::Bucket") {
            let Some(configuration) = resource.prop("NotificationConfiguration") else { continue };
            let bucket = ids.reference(stack, resource).map_err(|e| anyhow!("bucket {}: {e}", resource.logical_id))?;
            let resolved = assembly.resolve(stack, &resource.logical_id, configuration, ids)?;
            let xml = notification_xml(&resolved)
                .with_context(|| format!("NotificationConfiguration of {}", resource.logical_id))?;
            let url = format!("{endpoint}/{bucket}?notification");
            let signed = |method: &str, body: String| -> Result<http::Request<bytes::Bytes>> {
                let mut req = http::Request::builder()
                    .method(method)
                    .uri(&url)
                    .header("host", &host)
                    .body(bytes::Bytes::from(body))?;
                powertools::http::sign_sigv4(&mut req, &credentials, &self.region, "s3", std::time::SystemTime::now())?;
                Ok(req)
            };
            let current = client.send(signed("GET", String::new())?).await?;
            if String::from_utf8_lossy(&current.body).contains("<QueueConfiguration>") {
                continue;
            }
            let resp = client.send(signed("PUT", xml)?).await?;
            if !(200..300).contains(&resp.status) {
                bail!(
                    "PutBucketNotificationConfiguration {bucket}: moto answered {}: {}",
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                );
            }
        }
        Ok(())
    }

    /// Every `AWS::SecretsManager::Secret` of the templates (moto's CloudFormation skips the type; the
    /// authorizer's JWT key and the webhook signing root are read at run time), with a random value as
    /// `GenerateSecretString` would make.
    async fn create_secrets(&self, assembly: &Assembly, ids: &mut CloudIds) -> Result<()> {
        let sm = aws_sdk_secretsmanager::Client::new(&self.config);
        for (stack, resource) in assembly.resources_of("AWS::SecretsManager::Secret") {
            let name = format!("{}-{}", stack.name, resource.logical_id);
            let value = powertools::ids::random_hex(32);
            let out = sm.create_secret().name(&name).secret_string(&value).send().await.map_err(|e| {
                anyhow!("CreateSecret {name}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e))
            })?;
            let arn = out.arn().ok_or_else(|| anyhow!("CreateSecret {name} returned no ARN"))?;
            ids.physical.insert((stack.name.clone(), resource.logical_id.clone()), arn.to_owned());
            ids.secret_values.insert(arn.to_owned(), value);
        }
        Ok(())
    }

    /// Every `AWS::ApiGateway::ApiKey` created in moto's API Gateway (the authorizer reads the value of its
    /// tier's key by id, `GET /apikeys/<id>?includeValue=true`, and returns it as `usageIdentifierKey`), with a
    /// stable value the local gateway is given too ([`CloudIds::api_key_values`]). Not the gateway's own default
    /// (`local-<logical id>`): API Gateway, and moto, refuse values under 20 characters.
    async fn create_api_keys(&self, assembly: &Assembly, ids: &mut CloudIds) -> Result<()> {
        let credentials = aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "rcdk-dev");
        let client = powertools::http::HttpClient::new(std::time::Duration::from_secs(10))?;
        let endpoint = self.endpoint();
        for (stack, resource) in assembly.resources_of("AWS::ApiGateway::ApiKey") {
            let body = serde_json::json!({
                "name": format!("{}-{}", stack.name, resource.logical_id),
                "value": api_key_value(&resource.logical_id),
                "enabled": true,
            });
            let url = format!("{endpoint}/apikeys");
            let host = endpoint.split("://").nth(1).unwrap_or_default().to_owned();
            let mut req = http::Request::post(&url)
                .header("host", host)
                .header("content-type", "application/json")
                .body(bytes::Bytes::from(body.to_string()))?;
            powertools::http::sign_sigv4(
                &mut req,
                &credentials,
                &self.region,
                "apigateway",
                std::time::SystemTime::now(),
            )?;
            let resp = client.send(req).await?;
            if !(200..300).contains(&resp.status) {
                bail!(
                    "CreateApiKey {}: moto answered {}: {}",
                    resource.logical_id,
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                );
            }
            let created: serde_json::Value = serde_json::from_slice(&resp.body)?;
            let id =
                created["id"].as_str().ok_or_else(|| anyhow!("CreateApiKey {} returned no id", resource.logical_id))?;
            ids.physical.insert((stack.name.clone(), resource.logical_id.clone()), id.to_owned());
            ids.api_key_values.insert(resource.logical_id.clone(), api_key_value(&resource.logical_id));
        }
        Ok(())
    }
}

/// A resolved `NotificationConfiguration` (CloudFormation's shape) in S3's XML: its queue configurations (the only
/// kind the platform declares; a topic, Lambda or EventBridge configuration is an error rather than left out).
pub fn notification_xml(configuration: &serde_json::Value) -> Result<String> {
    let mut xml = String::from(r#"<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#);
    for (kind, _) in configuration.as_object().into_iter().flatten() {
        if kind != "QueueConfigurations" {
            bail!("{kind} is not supported locally (queue configurations only)");
        }
    }
    for (i, q) in configuration["QueueConfigurations"].as_array().into_iter().flatten().enumerate() {
        let (Some(queue), Some(event)) = (q["Queue"].as_str(), q["Event"].as_str()) else {
            bail!("queue configuration {i} has no Queue or Event");
        };
        xml.push_str(&format!("<QueueConfiguration><Id>queue{i}</Id><Queue>{queue}</Queue><Event>{event}</Event>"));
        let rules = q["Filter"]["S3Key"]["Rules"].as_array().cloned().unwrap_or_default();
        if !rules.is_empty() {
            xml.push_str("<Filter><S3Key>");
            for r in rules {
                let (name, value) = (r["Name"].as_str().unwrap_or(""), r["Value"].as_str().unwrap_or(""));
                xml.push_str(&format!("<FilterRule><Name>{name}</Name><Value>{value}</Value></FilterRule>"));
            }
            xml.push_str("</S3Key></Filter>");
        }
        xml.push_str("</QueueConfiguration>");
    }
    xml.push_str("</NotificationConfiguration>");
    Ok(xml)
}

/// The mapping type the local pollers run instead of moto.
const EVENT_SOURCE_MAPPING: &str = "AWS::Lambda::EventSourceMapping";

/// Takes the event source mappings out of `assembly`'s templates: the local pollers ([`crate::sources`]) run them from the
/// templates. Sent to moto they would take the records away: moto 5.2.5 hands every DynamoDB stream record to
/// its own Lambda backend, which cannot run the functions, and then empties the shard (`StreamShard.add`), so a
/// stream read finds nothing; for SQS it receives the messages itself. The templates written to the output
/// directory, which the emulators read, keep them.
pub fn without_event_source_mappings(assembly: &mut synth::Assembly) -> Result<()> {
    for stack in &mut assembly.stacks {
        let mut template: serde_json::Value =
            serde_json::from_str(&stack.template).with_context(|| format!("template of {}", stack.name))?;
        let Some(resources) = template.get_mut("Resources").and_then(serde_json::Value::as_object_mut) else {
            continue;
        };
        let before = resources.len();
        resources.retain(|_, r| r.get("Type").and_then(serde_json::Value::as_str) != Some(EVENT_SOURCE_MAPPING));
        if resources.len() == before {
            continue;
        }
        stack.resources = resources.len();
        stack.resources_by_type.remove(EVENT_SOURCE_MAPPING);
        stack.template = serde_json::to_string_pretty(&template)?;
        stack.bytes = stack.template.len();
    }
    Ok(())
}

/// The value of a usage plan's API key in the local cloud: stable across runs, at least the 20 characters API
/// Gateway requires (<https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html>).
pub fn api_key_value(logical_id: &str) -> String {
    format!("rcdk-local-api-key-{logical_id}")
}

/// The local cloud's physical ids, read after the deploy: what references resolve to in the functions'
/// environment and the event source mappings. Emulated resources keep their local ids ([`LocalIds`]): functions
/// are named by logical id in the local runtime (a function's `Arn` is [`function_arn`] of its logical id), and
/// the state machines, rules, REST API and usage plans live in the emulators.
#[derive(Debug, Clone, Default)]
pub struct CloudIds {
    pub region: String,
    pub account: String,
    /// (stack name, logical id) to the physical id CloudFormation reports (or the id created here).
    pub physical: BTreeMap<(String, String), String>,
    /// (stack name, table logical id) to the table's latest stream ARN.
    pub streams: BTreeMap<(String, String), String>,
    /// API key logical id to the value created in the local cloud.
    pub api_key_values: BTreeMap<String, String>,
    /// Secret ARN to the value created in the local cloud (the webhook sink checks signatures with one).
    pub secret_values: BTreeMap<String, String>,
}

/// Resource types the emulators run: references to them keep the local ids.
const EMULATED: &[&str] = &[
    "AWS::Lambda::Function",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::UsagePlan",
];

impl CloudIds {
    fn physical(&self, stack: &Stack, resource: &Resource) -> Option<&str> {
        if EMULATED.contains(&resource.kind.as_str()) {
            return None;
        }
        self.physical.get(&(stack.name.clone(), resource.logical_id.clone())).map(String::as_str)
    }

    /// The physical id of `logical_id` in any stack (the mappings name their queues by logical id).
    pub fn find(&self, logical_id: &str) -> Option<&str> {
        self.physical.iter().find(|((_, l), _)| l == logical_id).map(|(_, p)| p.as_str())
    }
}

impl PhysicalIds for CloudIds {
    fn reference(&self, stack: &Stack, resource: &Resource) -> Result<String, String> {
        if let Some(p) = self.physical(stack, resource) {
            return Ok(p.to_owned());
        }
        // `Ref` of a state machine is its ARN, named by `StateMachineName` when the template sets one: the name a
        // handler's environment spells out (`EXPORT_WORKFLOW_ARN` is built from the name, not from a `Ref`).
        if resource.kind == "AWS::StepFunctions::StateMachine"
            && let Some(name) = resource.prop("StateMachineName").and_then(serde_json::Value::as_str)
        {
            return Ok(format!("arn:aws:states:{}:{}:stateMachine:{name}", self.region, self.account));
        }
        LocalIds.reference(stack, resource)
    }

    fn attribute(&self, stack: &Stack, resource: &Resource, attribute: &str) -> Result<String, String> {
        let (region, account) = (&self.region, &self.account);
        let Some(physical) = self.physical(stack, resource) else {
            if resource.kind == "AWS::Lambda::Function" && attribute == "Arn" {
                return Ok(function_arn(region, &resource.logical_id));
            }
            return LocalIds.attribute(stack, resource, attribute);
        };
        // The attributes the templates read, as CloudFormation documents them for each type.
        Ok(match (resource.kind.as_str(), attribute) {
            // moto's physical id of a queue is its URL; the name is its last segment.
            ("AWS::SQS::Queue", "Arn") => {
                format!("arn:aws:sqs:{region}:{account}:{}", physical.rsplit('/').next().unwrap_or(physical))
            }
            ("AWS::SQS::Queue", "QueueUrl") => physical.to_owned(),
            ("AWS::SQS::Queue", "QueueName") => physical.rsplit('/').next().unwrap_or(physical).to_owned(),
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:aws:dynamodb:{region}:{account}:table/{physical}"),
            ("AWS::DynamoDB::Table", "StreamArn") => self
                .streams
                .get(&(stack.name.clone(), resource.logical_id.clone()))
                .cloned()
                .ok_or_else(|| format!("table {physical} has no stream"))?,
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{physical}"),
            ("AWS::SecretsManager::Secret", "Id" | "Arn") => physical.to_owned(),
            ("AWS::Events::EventBus", "Name") => physical.rsplit('/').next().unwrap_or(physical).to_owned(),
            ("AWS::Events::EventBus", "Arn") => {
                format!(
                    "arn:aws:events:{region}:{account}:event-bus/{}",
                    physical.rsplit('/').next().unwrap_or(physical)
                )
            }
            ("AWS::Logs::LogGroup", "Arn") => format!("arn:aws:logs:{region}:{account}:log-group:{physical}:*"),
            _ => return LocalIds.attribute(stack, resource, attribute),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bucket_notifications_are_written_as_s3_xml() {
        let configuration = json!({"QueueConfigurations": [{
            "Event": "s3:ObjectCreated:*",
            "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}},
            "Queue": "arn:aws:sqs:us-east-1:123456789012:scans"
        }]});
        assert_eq!(
            notification_xml(&configuration).unwrap(),
            "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><QueueConfiguration>\
             <Id>queue0</Id><Queue>arn:aws:sqs:us-east-1:123456789012:scans</Queue><Event>s3:ObjectCreated:*</Event>\
             <Filter><S3Key><FilterRule><Name>prefix</Name><Value>uploads/</Value></FilterRule></S3Key></Filter>\
             </QueueConfiguration></NotificationConfiguration>"
        );
        assert_eq!(
            notification_xml(&json!({"TopicConfigurations": []})).unwrap_err().to_string(),
            "TopicConfigurations is not supported locally (queue configurations only)"
        );
    }

    #[test]
    fn references_resolve_to_the_local_cloud_and_emulated_resources_keep_local_ids() {
        let stack = Stack::from_template(
            "Regional".into(),
            "app-regional".into(),
            "us-east-1".into(),
            &json!({"Resources": {
                "Q": {"Type": "AWS::SQS::Queue"},
                "T": {"Type": "AWS::DynamoDB::Table"},
                "F": {"Type": "AWS::Lambda::Function"},
                "S": {"Type": "AWS::StepFunctions::StateMachine"},
                "Unknown": {"Type": "AWS::SNS::Topic"}
            }}),
        )
        .unwrap();
        let mut ids = CloudIds { region: "us-east-1".into(), account: "123456789012".into(), ..CloudIds::default() };
        let key = |l: &str| ("app-regional".to_owned(), l.to_owned());
        ids.physical.insert(key("Q"), "http://127.0.0.1:5000/123456789012/app-Q-abc".into());
        ids.physical.insert(key("T"), "app-T-xyz".into());
        ids.physical.insert(key("F"), "app-F-moto".into());
        ids.physical.insert(key("S"), "arn:aws:states:moto".into());
        ids.streams.insert(key("T"), "arn:aws:dynamodb:us-east-1:123456789012:table/app-T-xyz/stream/1".into());
        let r = |l: &str| stack.resources[l].clone();
        assert_eq!(ids.reference(&stack, &r("Q")).unwrap(), "http://127.0.0.1:5000/123456789012/app-Q-abc");
        assert_eq!(ids.attribute(&stack, &r("Q"), "Arn").unwrap(), "arn:aws:sqs:us-east-1:123456789012:app-Q-abc");
        assert_eq!(ids.reference(&stack, &r("T")).unwrap(), "app-T-xyz");
        assert!(ids.attribute(&stack, &r("T"), "StreamArn").unwrap().ends_with("/stream/1"));
        assert_eq!(ids.reference(&stack, &r("F")).unwrap(), "F", "functions run by logical id");
        assert_eq!(ids.attribute(&stack, &r("F"), "Arn").unwrap(), function_arn("us-east-1", "F"));
        assert_eq!(ids.reference(&stack, &r("S")).unwrap(), "S", "the workflow is emulated");
        assert_eq!(ids.reference(&stack, &r("Unknown")).unwrap(), "Unknown");
    }
}
