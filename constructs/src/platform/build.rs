//! Building the platform's stacks from its configuration.

use std::collections::BTreeMap;

use platform_types::events::{EVENT_SOURCE, detail_type};
use platform_types::routes::{EventSource, Handler, ResourceRef, permissions, timeout_seconds};
use platform_types::{env, table};
use synth::{App, Assembly, Output, Scope, Stack, StackProps, SynthError, Val};

use super::config::{PlatformAssets, PlatformConfig, RouteConfig};
use crate::apigateway::{
    ApiGatewayAccount, ApiKeySource, Authorization, Authorizer, AuthorizerKind, Canary, CfnApiKey, CfnUsagePlanKey,
    DomainName, MethodProps, Model, RestApi, RestApiProps, StageProps, Throttle, UsagePlanProps, cfn_usage_plan_key,
};
use crate::certificatemanager::Certificate;
use crate::cloudfront::{Distribution, DistributionLogs, DistributionProps, Origin, ViewerCertificate};
use crate::cloudwatch::{Alarm, AlarmProps, Comparison, Dashboard, Metric, Stat, Widget};
use crate::common::{Checkov, skip_checkov, suppress};
use crate::dynamodb::{Attribute, GlobalSecondaryIndex, Projection, Replica, StreamView, Table, TableProps};
use crate::ec2::{SecurityGroup, Vpc, VpcProps};
use crate::elasticache::{ServerlessCache, ServerlessCacheProps};
use crate::error::ConstructError;
use crate::events::{Archive, EventBus, EventBusProps, EventPattern, Rule, RuleProps, Target};
use crate::iam::{Principal, Role, RoleProps};
use crate::kms::{Key, KeyProps};
use crate::lambda::{Function, FunctionProps, SqsSourceProps, StreamSourceProps, VpcPlacement};
use crate::logs::{LogGroup, LogGroupProps};
use crate::opensearchservice::{DedicatedMasters, Domain, DomainProps};
use crate::rules::RuleId;
use crate::s3::{AccessLogs, Bucket, BucketProps, Encryption, LifecycleRule, ObjectOwnership};
use crate::secretsmanager::{Secret, SecretProps};
use crate::sns::Topic;
use crate::sqs::{DeadLetter, Queue, QueueProps};
use crate::stepfunctions::{
    Catch, Choice, Condition, Fail, Graph, Next, Retry, State, StateMachine, StateMachineProps, Task, TaskResource,
};
use crate::wafv2::{WafScope, WebAcl, WebAclProps};

/// Routes per route stack. The most resources a route adds is 9 (two path segments, the method, its permission,
/// a function of its own with role and log group, two alarms): 50 routes stay under the 500 resources
/// CloudFormation allows per stack (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>)
/// with room to spare.
pub const ROUTES_PER_STACK: usize = 50;

/// Why the platform could not be built or synthesized.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A construct refused its input.
    #[error(transparent)]
    Construct(#[from] ConstructError),
    /// Synth found problems (validation or the rule pack).
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// The configuration contradicts itself.
    #[error("platform configuration: {0}")]
    Config(String),
}

/// Builds and synthesizes the platform with the whole rule pack.
pub fn synth(config: &PlatformConfig, assets: &PlatformAssets) -> Result<Assembly, PlatformError> {
    let app = build(config, assets)?;
    Ok(app.synth_with(&crate::rules::all())?)
}

/// What the regional stack holds that other parts use.
struct Regional {
    key: Key,
    logs: Bucket,
    stream_failures: Queue,
    entity: Table,
    control: Table,
    exports: Bucket,
    bus: EventBus,
    webhooks: Queue,
    indexer_queue: Option<Queue>,
    jwt: Secret,
    webhook_secret: Secret,
    search: Option<Domain>,
    cache: Option<ServerlessCache>,
    vpc: Option<(Vpc, SecurityGroup)>,
    topic: Topic,
    api_keys: BTreeMap<String, Val<String>>,
}

/// Builds the platform's app (not synthesized).
pub fn build(config: &PlatformConfig, assets: &PlatformAssets) -> Result<App, PlatformError> {
    check(config)?;
    let prefix = config.prefix();
    let mut app = App::new(config.name.as_str());
    for a in assets.all() {
        app.add_asset(a.clone());
    }
    let stack = |id: &str, name: String, region: &str, description: &str| {
        let mut p = StackProps::new(id, name, region, config.stage.as_str());
        p.account = config.account.clone();
        p.description = Some(format!("{} {}: {description}", config.name, config.stage));
        p.tags.insert("project".into(), config.name.clone());
        p.tags.insert("stage".into(), config.stage.clone());
        p.termination_protection = config.production();
        Stack::new(p)
    };

    // ---- Edge (us-east-1) -------------------------------------------------------------------------------------
    let mut edge =
        stack("Edge", format!("{prefix}-edge"), "us-east-1", "CloudFront web ACL, certificate, billing alarm");
    let (edge_waf, edge_cert) = {
        let mut root = edge.root();
        let s = &mut root;
        let key = Key::new(
            s,
            "Key",
            KeyProps {
                description: Some(format!("{prefix}: edge logs and alarms")),
                alias: Some(format!("alias/{prefix}-edge")),
                cloudwatch_logs: true,
                ..KeyProps::default()
            },
        )?;
        let waf = WebAcl::new(
            s,
            "WebAcl",
            WafScope::CloudFront,
            WebAclProps {
                bot_control: config.features.bot_control,
                log_key: Some(key.clone()),
                ..WebAclProps::default()
            },
        )?;
        let cert = match &config.features.domain {
            Some(d) => Some(Certificate::new(s, "Certificate", &d.edge_domain, &d.hosted_zone_id)?),
            None => None,
        };
        // Billing metrics exist only in us-east-1 (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/monitor_estimated_charges_with_cloudwatch.html).
        let topic = Topic::new(s, "BillingAlarms", &key)?;
        topic.allow_cloudwatch_alarms(s);
        Alarm::new(
            s,
            "EstimatedCharges",
            &Metric::new("AWS/Billing", "EstimatedCharges")
                .with_dimension("Currency", Val::from("USD"))
                .with_stat(Stat::Maximum)
                .with_period(21_600),
            config.monthly_budget_usd,
            AlarmProps {
                comparison: Comparison::GreaterThan,
                description: Some(format!("Month-to-date charges above {} USD", config.monthly_budget_usd)),
                actions: vec![topic.arn()],
                ..AlarmProps::default()
            },
        )?;
        (waf, cert)
    };

    // ---- Replica key stacks -------------------------------------------------------------------------------------
    let mut replica_stacks = Vec::new();
    let mut replicas = Vec::new();
    for region in &config.features.replica_regions {
        let id = format!("Replica{}", region.split('-').map(capitalize).collect::<String>());
        let mut s = stack(&id, format!("{prefix}-data-{region}"), region, "key of the entity table's replica");
        let key = Key::new(
            &mut s.root(),
            "DataKey",
            KeyProps {
                description: Some(format!("{prefix}: entity table replica in {region}")),
                alias: Some(format!("alias/{prefix}-data")),
                ..KeyProps::default()
            },
        )?;
        replicas.push(Replica { region: region.clone(), encryption_key_arn: key.arn() });
        replica_stacks.push(s);
    }

    // ---- Regional -----------------------------------------------------------------------------------------------
    let mut regional =
        stack("Regional", format!("{prefix}-regional"), &config.region, "data, functions, API, distribution");
    let mut api_stack = stack("Api", format!("{prefix}-api"), &config.region, "API deployment, stage and alarms");
    let route_count = config.routes.len().div_ceil(ROUTES_PER_STACK).max(1);
    let mut route_stacks: Vec<Stack> = (0..route_count)
        .map(|i| stack(&format!("Routes{}", i + 1), format!("{prefix}-routes-{}", i + 1), &config.region, "API routes"))
        .collect();

    let mut root = regional.root();
    let r = &mut root;
    let shared = data(r, config, replicas)?;

    // Functions of the platform's handlers.
    let mut functions: BTreeMap<Handler, Function> = BTreeMap::new();
    for h in Handler::ALL {
        if h == Handler::Indexer && shared.search.is_none() {
            continue;
        }
        let f = function(r, h.name(), h, config, assets, &shared, false)?;
        functions.insert(h, f);
    }
    event_sources(r, &functions, &shared)?;
    if let Some(rotator) = &assets.rotator {
        let f = Function::new(
            r,
            "SecretRotator",
            rotator,
            FunctionProps {
                timeout_seconds: Some(60),
                reserved_concurrency: Some(2),
                environment_key: Some(shared.key.clone()),
                log_key: Some(shared.key.clone()),
                ..FunctionProps::default()
            },
        )?;
        // Thirty days: a leaked signing key is useful for a month at most.
        shared.jwt.add_rotation(r, &f, 30)?;
        shared.webhook_secret.add_rotation(r, &f, 30)?;
    } else {
        for s in [&shared.jwt, &shared.webhook_secret] {
            let id = s.path().to_owned();
            let entry = r.stack_mut().resource_mut(&synth::logical_id_of(&id));
            if let Some(entry) = entry {
                suppress(
                    entry,
                    RuleId::Smg4,
                    "no rotation function is deployed yet (PlatformAssets::rotator is None: the workspace has no rotation crate); the handlers already read AWSCURRENT on every cache miss",
                );
            }
        }
    }

    // Export workflow (billing: an invoice triggers an export of the tenant's data).
    let workflow = export_workflow(r, &functions[&Handler::Exporter], &shared)?;

    // Event routing.
    let events_dlq = Queue::new(
        r,
        "UndeliveredEvents",
        QueueProps {
            encryption_key: Some(shared.key.clone()),
            dead_letter: DeadLetter::None,
            retention_seconds: Some(crate::sqs::DEAD_LETTER_RETENTION_SECONDS),
            ..QueueProps::default()
        },
    )?;
    let all_events = EventPattern::new(EVENT_SOURCE, detail_type::ALL);
    Rule::new(
        r,
        "Notifications",
        &shared.bus,
        all_events.clone(),
        vec![Target::Queue(shared.webhooks.clone())],
        &events_dlq,
        RuleProps { description: Some("Every domain event to the webhook deliveries".into()), ..RuleProps::default() },
    )?;
    if let Some(q) = &shared.indexer_queue {
        Rule::new(
            r,
            "Audit",
            &shared.bus,
            all_events.clone(),
            vec![Target::Queue(q.clone())],
            &events_dlq,
            RuleProps {
                description: Some("Every domain event to the audit search index".into()),
                ..RuleProps::default()
            },
        )?;
    }
    Rule::new(
        r,
        "Billing",
        &shared.bus,
        EventPattern::new(EVENT_SOURCE, &[detail_type::INVOICE_GENERATED]),
        vec![Target::StateMachine(workflow.clone())],
        &events_dlq,
        RuleProps {
            description: Some("An invoice starts an export of the tenant's data".into()),
            input_path: Some("$.detail".into()),
            ..RuleProps::default()
        },
    )?;
    let analytics = LogGroup::new(
        r,
        "AnalyticsEvents",
        LogGroupProps {
            name: Some(Val::from(format!("/aws/events/{prefix}-analytics").as_str())),
            encryption_key: Some(shared.key.clone()),
            ..LogGroupProps::default()
        },
    )?;
    Rule::new(
        r,
        "Analytics",
        &shared.bus,
        all_events,
        vec![Target::LogGroup(analytics)],
        &events_dlq,
        RuleProps { description: Some("Every domain event to Logs Insights".into()), ..RuleProps::default() },
    )?;

    // The API's root: authorizer, models, validator, logging role; its web ACL.
    let mut api = RestApi::new(
        r,
        "Api",
        RestApiProps {
            name: Some(format!("{prefix}-api")),
            description: Some(format!("{} API ({})", config.name, config.stage)),
            api_key_source: if config.features.enforce_usage_plans {
                ApiKeySource::Authorizer
            } else {
                ApiKeySource::Header
            },
            ..RestApiProps::default()
        },
    )?;
    let authorizer = api.add_authorizer(
        r,
        "Authorizer",
        &functions[&Handler::Authorizer],
        AuthorizerKind::Token { header: "Authorization".into(), validation_regex: None },
        platform_types::routes::AUTHORIZER_CACHE_TTL_SECONDS,
    )?;
    let mut models: BTreeMap<String, Model> = BTreeMap::new();
    for route in &config.routes {
        if let Some((name, schema)) = &route.model
            && !models.contains_key(name)
        {
            models.insert(name.clone(), api.add_model(r, name, schema.clone())?);
        }
    }
    // The account's API Gateway logging role: the stage (in the Api stack, deployed after this one) logs with it.
    ApiGatewayAccount::new(r, "ApiGatewayAccount")?;
    let api_waf = WebAcl::new(
        r,
        "ApiWebAcl",
        WafScope::Regional,
        WebAclProps { log_key: Some(shared.key.clone()), ..WebAclProps::default() },
    )?;
    let api_domain = match &config.features.domain {
        Some(d) => {
            let cert = Certificate::new(r, "ApiCertificate", &d.api_domain, &d.hosted_zone_id)?;
            let domain = DomainName::new(r, "ApiDomain", &d.api_domain, cert.arn())?;
            crate::route53::alias_records(
                r,
                "ApiDns",
                &d.hosted_zone_id,
                &d.api_domain,
                domain.regional_domain_name(),
                domain.regional_hosted_zone_id(),
            );
            Some(domain)
        }
        None => None,
    };

    // The distribution.
    let logs_bucket = shared.logs.clone();
    let static_assets = Bucket::new(
        r,
        "StaticAssets",
        BucketProps {
            access_logs: Some(AccessLogs { bucket: Box::new(logs_bucket.clone()), prefix: "s3/static/".into() }),
            ..BucketProps::default()
        },
    )?;
    let distribution = Distribution::new(
        r,
        "Cdn",
        Origin::Api { domain: api.domain_name(), path: format!("/{}", config.stage) },
        DistributionProps {
            web_acl_arn: Some(edge_waf.arn()),
            certificate: edge_cert.as_ref().map(|c| ViewerCertificate {
                certificate_arn: c.arn(),
                aliases: config.features.domain.iter().map(|d| d.edge_domain.clone()).collect(),
            }),
            logs: Some(DistributionLogs { bucket: logs_bucket, prefix: "cloudfront/".into() }),
            behaviors: vec![("/static/*".into(), Origin::Bucket(Box::new(static_assets)))],
            comment: Some(format!("{prefix}: API and static files")),
            ..DistributionProps::default()
        },
    )?;
    if edge_cert.is_none() {
        let entry = r.stack_mut().entry_mut(distribution.handle());
        let why = "no custom domain configured: the default *.cloudfront.net certificate fixes the viewer security policy at TLSv1; set Features::domain for TLS 1.2+";
        suppress(entry, RuleId::Cfr4, why);
        skip_checkov(entry, Checkov::CloudFrontTls12, why);
    }
    if let Some(d) = &config.features.domain {
        crate::route53::alias_records(
            r,
            "EdgeDns",
            &d.hosted_zone_id,
            &d.edge_domain,
            distribution.domain_name(),
            Val::from(crate::route53::CLOUDFRONT_ZONE_ID),
        );
    }
    r.stack_mut().add_output(
        "CdnDomainName",
        Output::new(distribution.domain_name()).with_description("Where clients call the API"),
    );
    r.stack_mut().add_output("ApiId", Output::new(api.id()).with_description("The REST API"));

    let mut queue_names: Vec<(String, String)> = Vec::new();
    let mut named = vec![(&shared.webhooks, "webhook deliveries"), (&events_dlq, "undelivered events")];
    if let Some(d) = shared.webhooks.dead_letter_queue() {
        named.push((d, "failed webhooks"));
    }
    for (q, label) in named {
        let output = format!("{}QueueName", synth::logical_id_of(q.path()));
        r.stack_mut()
            .add_output(output.as_str(), Output::new(q.name()).with_description(format!("Name of the {label} queue")));
        queue_names.push((output, label.to_owned()));
    }
    drop(root);

    // ---- Routes -------------------------------------------------------------------------------------------------
    for (i, route) in config.routes.iter().enumerate() {
        let s = &mut route_stacks[i / ROUTES_PER_STACK];
        let mut root = s.root();
        add_route(&mut root, &mut api, route, &authorizer, &models, &functions, config, assets, &shared)?;
    }

    // ---- Api: deployment, stage, plans, alarms --------------------------------------------------------------------
    {
        let mut root = api_stack.root();
        let a = &mut root;
        let stage = api.deploy(
            a,
            &config.stage,
            StageProps {
                throttle: Some(Throttle { rate_limit: config.api_rate_limit, burst_limit: config.api_burst_limit }),
                canary: config
                    .features
                    .canary_percent
                    .map(|p| Canary { percent_traffic: p, stage_variable_overrides: BTreeMap::new() }),
                log_key: Some(shared.key.clone()),
                account: None,
                ..StageProps::default()
            },
        )?;
        api_waf.associate(a, "ApiWebAclAssociation", stage.arn(), &[stage.logical_id()]);
        for t in &config.tiers {
            let plan = stage.add_usage_plan(
                a,
                &format!("{}Plan", capitalize(&t.name)),
                UsagePlanProps {
                    throttle: Some(Throttle { rate_limit: t.rate_limit, burst_limit: t.burst_limit }),
                    quota: Some(crate::apigateway::Quota {
                        limit: t.daily_quota,
                        period: crate::apigateway::QuotaPeriod::Day,
                    }),
                    description: Some(format!("Tier {}", t.name)),
                },
            )?;
            a.add(
                &format!("{}PlanKey", capitalize(&t.name)),
                CfnUsagePlanKey::new(shared.api_keys[&t.name].clone(), cfn_usage_plan_key::KeyType::ApiKey, plan.id()),
            );
        }
        if let Some(d) = &api_domain {
            d.map(a, "Mapping", &api, &stage, None);
        }
        let topic = shared.topic.arn();
        let errors = alarm(a, "Api5xx", &stage.metric_5xx(), 5.0, "API 5xx responses (5 in a minute)", &topic, 1)?;
        let latency = alarm(
            a,
            "ApiLatencyP99",
            &stage.metric_latency_p99(),
            1000.0,
            "API p99 latency above 1 s in 3 of 5 minutes",
            &topic,
            5,
        )?;
        let mut function_metrics: Vec<Metric> =
            functions.values().map(|f| f.metric_errors().with_label(f.path())).collect();
        function_metrics
            .extend(functions.values().map(|f| f.metric_throttles().with_label(&format!("{} throttles", f.path()))));
        // Queue names are computed from ARNs (`Fn::Split`); across stacks they travel as outputs of their own.
        let regional_name = format!("{prefix}-regional");
        let queue_metrics: Vec<Metric> = queue_names
            .iter()
            .map(|(output, label)| {
                Metric::new("AWS/SQS", "ApproximateNumberOfMessagesVisible")
                    .with_dimension("QueueName", Val::get_stack_output(regional_name.as_str(), output.as_str(), None))
                    .with_stat(Stat::Maximum)
                    .with_label(label)
            })
            .collect();
        Dashboard::new(
            a,
            "Dashboard",
            vec![
                Widget::Graph {
                    title: "API".into(),
                    metrics: vec![stage.metric_5xx(), stage.metric_4xx(), stage.metric_latency_p99()],
                },
                Widget::Alarms { title: "API alarms".into(), alarms: vec![errors.arn(), latency.arn()] },
                Widget::Graph { title: "Function errors and throttles".into(), metrics: function_metrics },
                Widget::Graph { title: "Queues".into(), metrics: queue_metrics },
                Widget::Graph {
                    title: "Stream lag".into(),
                    metrics: vec![functions[&Handler::StreamProcessor].metric_iterator_age()],
                },
                Widget::Text {
                    markdown: format!(
                        "# {prefix}\nRequest path, async path and data. Alarms notify the platform topic."
                    ),
                },
            ],
        )?;
        // The account-level logging role must exist before the stage logs: the Regional stack creates it and
        // this stack comes after Regional (it reads the API's id).
        a.stack_mut().add_output("StageName", Output::new(Val::<String>::from(config.stage.as_str())));
    }

    // Regional alarms.
    {
        let mut root = regional.root();
        let r = &mut root;
        let topic = shared.topic.arn();
        for (h, f) in &functions {
            alarm(r, &format!("{}Errors", h.name()), &f.metric_errors(), 1.0, "invocations failed", &topic, 1)?;
            alarm(
                r,
                &format!("{}Throttles", h.name()),
                &f.metric_throttles(),
                1.0,
                "invocations throttled",
                &topic,
                1,
            )?;
        }
        // A minute behind the stream means events are late for every consumer.
        alarm(
            r,
            "StreamIteratorAge",
            &functions[&Handler::StreamProcessor].metric_iterator_age(),
            60_000.0,
            "stream processing lags more than a minute",
            &topic,
            3,
        )?;
        let mut dlqs: Vec<(String, &Queue)> = vec![("UndeliveredEvents".into(), &events_dlq)];
        if let Some(d) = shared.webhooks.dead_letter_queue() {
            dlqs.push(("WebhookDlq".into(), d));
        }
        if let Some(d) = shared.indexer_queue.as_ref().and_then(Queue::dead_letter_queue) {
            dlqs.push(("IndexerDlq".into(), d));
        }
        dlqs.push(("StreamFailures".into(), &shared.stream_failures));
        for (name, q) in dlqs {
            alarm(
                r,
                &format!("{name}Depth"),
                &q.metric_visible_messages(),
                1.0,
                "messages in a dead-letter queue: work that failed",
                &topic,
                1,
            )?;
        }
        alarm(
            r,
            "EntitiesReadThrottles",
            &shared.entity.metric_read_throttles(),
            1.0,
            "entity table reads throttled",
            &topic,
            1,
        )?;
        alarm(
            r,
            "EntitiesWriteThrottles",
            &shared.entity.metric_write_throttles(),
            1.0,
            "entity table writes throttled",
            &topic,
            1,
        )?;
        alarm(r, "ExportWorkflowFailures", &workflow.metric_failed(), 1.0, "an export failed", &topic, 1)?;
    }

    app.add_stack(edge);
    for s in replica_stacks {
        app.add_stack(s);
    }
    app.add_stack(regional);
    for s in route_stacks {
        app.add_stack(s);
    }
    app.add_stack(api_stack);
    Ok(app)
}

/// Keys, tables, buckets, secrets, bus, queues, network, cache, search and the alarm topic.
fn data(r: &mut Scope, config: &PlatformConfig, replicas: Vec<Replica>) -> Result<Regional, PlatformError> {
    let prefix = config.prefix();
    let key = Key::new(
        r,
        "DataKey",
        KeyProps {
            description: Some(format!("{prefix}: data, queues, logs and secrets")),
            alias: Some(format!("alias/{prefix}-data")),
            cloudwatch_logs: true,
            ..KeyProps::default()
        },
    )?;
    let keys = |pk: &str, sk: &str| (Attribute::string(pk), Some(Attribute::string(sk)));
    let (pk, sk) = keys(table::PARTITION_KEY, table::SORT_KEY);
    let entity = Table::new(
        r,
        "Entities",
        pk.clone(),
        TableProps {
            sort_key: sk.clone(),
            global_secondary_indexes: vec![GlobalSecondaryIndex {
                name: table::GSI1.into(),
                partition_key: Attribute::string(table::GSI1_PARTITION_KEY),
                sort_key: Some(Attribute::string(table::GSI1_SORT_KEY)),
                projection: Projection::All,
            }],
            time_to_live_attribute: Some(table::TTL_ATTRIBUTE.into()),
            stream: Some(StreamView::NewAndOldImages),
            billing: config.billing,
            encryption_key: Some(key.clone()),
            replicas,
            ..TableProps::default()
        },
    )?;
    // Idempotency records and rate-limit counters: per region by design (a retry in another region is a new
    // request there), so never replicated.
    let control = Table::new(
        r,
        "Control",
        pk,
        TableProps {
            sort_key: sk,
            time_to_live_attribute: Some(table::TTL_ATTRIBUTE.into()),
            billing: config.billing,
            encryption_key: Some(key.clone()),
            ..TableProps::default()
        },
    )?;

    let logs = Bucket::new(
        r,
        "Logs",
        BucketProps {
            object_ownership: ObjectOwnership::BucketOwnerPreferred,
            lifecycle_rules: vec![LifecycleRule {
                id: "ExpireLogs".into(),
                prefix: None,
                // A little over a year, like the log groups.
                expiration_days: Some(400),
                noncurrent_expiration_days: None,
                infrequent_access_after_days: Some(30),
            }],
            ..BucketProps::default()
        },
    )?;
    {
        let entry = r.stack_mut().resource_mut("Logs").ok_or_else(|| PlatformError::Config("no log bucket".into()))?;
        let why = "this is the log bucket: its own access logs would be written to itself, one log per log";
        suppress(entry, RuleId::S1, why);
        skip_checkov(entry, Checkov::S3AccessLogging, why);
    }
    let logs_to = |prefix: &str| Some(AccessLogs { bucket: Box::new(logs.clone()), prefix: prefix.into() });
    let exports = Bucket::new(
        r,
        "Exports",
        BucketProps {
            encryption: Encryption::Kms(key.clone()),
            access_logs: logs_to("s3/exports/"),
            lifecycle_rules: vec![LifecycleRule {
                id: "ExpireExports".into(),
                prefix: Some("exports/".into()),
                // Presigned URLs live at most 7 days; the object need not outlive them.
                expiration_days: Some(7),
                noncurrent_expiration_days: Some(1),
                infrequent_access_after_days: None,
            }],
            ..BucketProps::default()
        },
    )?;
    Bucket::new(
        r,
        "ConfigSnapshots",
        BucketProps {
            encryption: Encryption::Kms(key.clone()),
            access_logs: logs_to("s3/config/"),
            lifecycle_rules: vec![LifecycleRule {
                id: "KeepSnapshotsAYear".into(),
                prefix: None,
                expiration_days: None,
                noncurrent_expiration_days: Some(365),
                infrequent_access_after_days: Some(30),
            }],
            ..BucketProps::default()
        },
    )?;

    let secret = |r: &mut Scope, id: &str, what: &str| {
        Secret::new(
            r,
            id,
            SecretProps {
                description: Some(format!("{prefix}: {what}")),
                encryption_key: Some(key.clone()),
                ..SecretProps::default()
            },
        )
    };
    let jwt = secret(r, "JwtSigningKey", "HMAC key of the JWTs the authorizer accepts")?;
    let webhook_secret = secret(r, "WebhookSigningKey", "root of the per-tenant webhook signing keys")?;

    let bus = EventBus::new(
        r,
        "Events",
        EventBusProps {
            name: Some(format!("{prefix}-events")),
            encryption_key: Some(key.clone()),
            archive: Archive::Days(if config.production() { 365 } else { 30 }),
            description: Some("Domain events of the platform".into()),
        },
    )?;
    let worker_queue = |r: &mut Scope, id: &str, h: Handler| -> Result<Queue, ConstructError> {
        let (visibility, receives) = match platform_types::routes::event_source(h) {
            EventSource::Sqs { visibility_timeout_seconds, max_receive_count, .. } => {
                (visibility_timeout_seconds, max_receive_count)
            }
            _ => (6 * timeout_seconds(h), crate::sqs::DEFAULT_MAX_RECEIVE_COUNT),
        };
        Queue::new(
            r,
            id,
            QueueProps {
                visibility_timeout_seconds: Some(visibility),
                dead_letter: DeadLetter::Create { max_receive_count: receives },
                encryption_key: Some(key.clone()),
                ..QueueProps::default()
            },
        )
    };
    let webhooks = worker_queue(r, "WebhookDeliveries", Handler::WebhookWorker)?;
    let indexer_queue =
        if config.features.search { Some(worker_queue(r, "AuditIndexing", Handler::Indexer)?) } else { None };
    let stream_failures = Queue::new(
        r,
        "StreamFailures",
        QueueProps {
            encryption_key: Some(key.clone()),
            dead_letter: DeadLetter::None,
            retention_seconds: Some(crate::sqs::DEAD_LETTER_RETENTION_SECONDS),
            ..QueueProps::default()
        },
    )?;

    let vpc = if config.features.redis || config.features.search {
        let mut endpoints: Vec<String> =
            crate::ec2::DEFAULT_INTERFACE_ENDPOINTS.iter().map(|s| (*s).to_owned()).collect();
        // Functions in the VPC send their traces through X-Ray's endpoint.
        endpoints.push("xray".into());
        let vpc = Vpc::new(
            r,
            "Network",
            VpcProps { interface_endpoints: endpoints, log_key: Some(key.clone()), ..VpcProps::default() },
        )?;
        let sg = SecurityGroup::new(r, "FunctionsSecurityGroup", &vpc, "Lambda functions in the VPC", false)?;
        sg.allow_egress_cidr(
            r,
            "HttpsOut",
            Val::from("0.0.0.0/0"),
            443,
            "HTTPS to AWS APIs through the VPC endpoints: the subnets have no route to the internet",
        );
        Some((vpc, sg))
    } else {
        None
    };
    let cache = match (&vpc, config.features.redis) {
        (Some((v, sg)), true) => {
            let c = ServerlessCache::new(
                r,
                "Cache",
                v,
                ServerlessCacheProps { encryption_key: Some(key.clone()), ..ServerlessCacheProps::default() },
            )?;
            c.allow_from(r, "FromFunctions", sg);
            Some(c)
        }
        _ => None,
    };
    let search = match (&vpc, config.features.search) {
        (Some((v, _)), true) => {
            let admin = Role::new(
                r,
                "SearchAdmin",
                Principal::AccountRoot,
                RoleProps {
                    description: Some(
                        "Fine-grained access control master of the search domain: maps the indexer's role after deploy"
                            .into(),
                    ),
                    ..RoleProps::default()
                },
            )?;
            let prod = config.production();
            let domain = Domain::new(
                r,
                "Search",
                v,
                admin.arn(),
                DomainProps {
                    zones: prod.then_some(2),
                    instance_count: Some(if prod { 2 } else { 1 }),
                    instance_type: prod.then(|| "m6g.large.search".into()),
                    dedicated_masters: prod
                        .then(|| DedicatedMasters { instance_type: "m6g.large.search".into(), count: 3 }),
                    encryption_key: Some(key.clone()),
                    ..DomainProps::default()
                },
            )?;
            if !prod {
                let entry = r
                    .stack_mut()
                    .resource_mut("Search")
                    .ok_or_else(|| PlatformError::Config("no search domain".into()))?;
                let why = "non-production stage: one data node in one zone; the prod stage has three dedicated masters and two zones";
                suppress(entry, RuleId::Os4, why);
                suppress(entry, RuleId::Os7, why);
            }
            Some(domain)
        }
        _ => None,
    };
    let topic = Topic::new(r, "Alarms", &key)?;
    topic.allow_cloudwatch_alarms(r);
    // One usage plan key per tier (the authorizer names them when usage plans are enforced).
    let mut api_keys = BTreeMap::new();
    for t in &config.tiers {
        let k = r.add(
            &format!("{}ApiKey", capitalize(&t.name)),
            CfnApiKey {
                enabled: Some(true.into()),
                description: Some(format!("Usage plan key of tier {}", t.name).into()),
                ..CfnApiKey::new()
            },
        );
        api_keys.insert(t.name.clone(), k.ref_());
    }
    Ok(Regional {
        key,
        logs,
        stream_failures,
        entity,
        control,
        exports,
        bus,
        webhooks,
        indexer_queue,
        jwt,
        webhook_secret,
        search,
        cache,
        vpc,
        topic,
        api_keys,
    })
}

/// The environment of handler `h`: every variable of `platform_types::routes::handler_env` that the platform has
/// a value for (optional ones without a configured value are left out: the handler's default applies).
fn environment(h: Handler, config: &PlatformConfig, s: &Regional) -> BTreeMap<String, Val<String>> {
    let mut out = BTreeMap::new();
    for name in platform_types::routes::handler_env(h) {
        let value: Option<Val<String>> = match *name {
            env::TABLE_NAME => Some(s.entity.name()),
            env::CONTROL_TABLE_NAME => Some(s.control.name()),
            env::EVENT_BUS_NAME => Some(Val::from(s.bus.name())),
            env::EXPORT_BUCKET_NAME => Some(s.exports.name()),
            env::JWT_SECRET_ARN => Some(s.jwt.arn()),
            env::WEBHOOK_SECRET_ARN => Some(s.webhook_secret.arn()),
            env::OPENSEARCH_ENDPOINT => s.search.as_ref().map(Domain::endpoint),
            env::SERVICE_NAME => Some(Val::from(h.binary())),
            env::METRICS_NAMESPACE => Some(Val::from(config.metrics_namespace.as_str())),
            env::LOG_LEVEL => Some(Val::from("info")),
            env::API_ROLE => h.api_role().map(Val::from),
            env::RATE_LIMITS => Some(Val::from(
                config
                    .tiers
                    .iter()
                    .map(|t| format!("{}={}", t.name, t.requests_per_minute))
                    .collect::<Vec<_>>()
                    .join(",")
                    .as_str(),
            )),
            env::RATE_LIMIT_WINDOW_SECONDS => Some(Val::from("60")),
            env::JWT_ISSUER => config.jwt_issuer.as_deref().map(Val::from),
            env::JWT_AUDIENCE => config.jwt_audience.as_deref().map(Val::from),
            env::QUEUE_URL => match h {
                Handler::WebhookWorker => Some(s.webhooks.url()),
                Handler::Indexer => s.indexer_queue.as_ref().map(Queue::url),
                _ => None,
            },
            // The other optional variables keep the handlers' documented defaults.
            _ => None,
        };
        if let Some(v) = value {
            out.insert((*name).to_owned(), v);
        }
    }
    if let (Some(c), Handler::ApiRead | Handler::ApiWrite) = (&s.cache, h) {
        out.insert(env::REDIS_ENDPOINT.into(), c.endpoint());
    }
    if h == Handler::Authorizer && config.features.enforce_usage_plans && !s.api_keys.is_empty() {
        let mut parts = Vec::new();
        for (i, (tier, id)) in s.api_keys.iter().enumerate() {
            if i > 0 {
                parts.push(Val::from(","));
            }
            parts.push(Val::from(format!("{tier}=").as_str()));
            parts.push(id.clone());
        }
        out.insert(env::USAGE_PLAN_KEY_IDS.into(), Val::join("", parts));
    }
    out
}

/// A function of handler `h` at `<scope>/<id>`, with its environment, grants, placement and (for a dedicated
/// route function) its error alarm.
fn function(
    scope: &mut Scope,
    id: &str,
    h: Handler,
    config: &PlatformConfig,
    assets: &PlatformAssets,
    s: &Regional,
    dedicated: bool,
) -> Result<Function, PlatformError> {
    let request_path = matches!(h, Handler::ApiRead | Handler::ApiWrite | Handler::Authorizer);
    // Background workers get a slice of the account's concurrency, so a backlog cannot starve the API.
    let reserved = match h {
        Handler::StreamProcessor => Some(20),
        Handler::WebhookWorker => Some(50),
        Handler::Exporter => Some(5),
        Handler::Indexer => Some(10),
        _ => None,
    };
    let in_vpc = match h {
        Handler::ApiRead | Handler::ApiWrite => s.cache.is_some(),
        Handler::Indexer => s.search.is_some(),
        _ => false,
    };
    let vpc = if in_vpc {
        s.vpc.as_ref().map(|(v, sg)| VpcPlacement {
            subnet_ids: Val::list(v.subnet_ids()),
            security_group_ids: Val::list([sg.id()]),
        })
    } else {
        None
    };
    let f = Function::new(
        scope,
        id,
        assets.for_handler(h),
        FunctionProps {
            // The request path gets more CPU (memory) for lower latency; workers are I/O bound.
            memory_mb: Some(if request_path { 512 } else { 256 }),
            timeout_seconds: Some(timeout_seconds(h)),
            environment: environment(h, config, s),
            environment_key: Some(s.key.clone()),
            log_key: Some(s.key.clone()),
            reserved_concurrency: reserved,
            provisioned_concurrency: if request_path && !dedicated {
                config.features.provisioned_concurrency
            } else {
                None
            },
            vpc,
            description: Some(format!("{} ({})", h.name(), h.binary())),
            tags: BTreeMap::from([("cost-center".to_owned(), format!("{}-{}", config.name, h.binary()))]),
            ..FunctionProps::default()
        },
    )?;
    grant(scope, h, &f, s)?;
    if h == Handler::Authorizer && config.features.enforce_usage_plans {
        let keys: Vec<Val<String>> = s
            .api_keys
            .values()
            .map(|id| {
                Val::sub_with("arn:${AWS::Partition}:apigateway:${AWS::Region}::/apikeys/${Key}", [("Key", id.clone())])
            })
            .collect();
        f.role().add_to_policy(scope, crate::iam::PolicyStatement::allow(["apigateway:GET"], keys));
    }
    if dedicated {
        alarm(scope, &format!("{id}Errors"), &f.metric_errors(), 1.0, "invocations failed", &s.topic.arn(), 1)?;
    }
    Ok(f)
}

/// Grants `f` exactly what `platform_types::routes::permissions(h)` lists, on the platform's resources.
fn grant(scope: &mut Scope, h: Handler, f: &Function, s: &Regional) -> Result<(), PlatformError> {
    for p in permissions(h) {
        let missing =
            || PlatformError::Config(format!("{h:?} needs {:?}, which this configuration has not", p.resource));
        match p.resource {
            ResourceRef::EntityTable => {
                s.entity.grant(f, scope, p.actions);
            }
            ResourceRef::EntityTableGsi1 => {
                s.entity.grant_index(f, scope, table::GSI1, p.actions);
            }
            ResourceRef::EntityTableStream => {
                s.entity.grant_stream_read(f, scope);
            }
            ResourceRef::ControlTable => {
                s.control.grant(f, scope, p.actions);
            }
            ResourceRef::EventBus => {
                s.bus.grant_put_events(f, scope);
            }
            ResourceRef::ExportBucketObjects => {
                s.exports.grant(f, scope, "exports/", p.actions);
            }
            ResourceRef::WebhookQueue => {
                s.webhooks.grant(f, scope, p.actions);
            }
            ResourceRef::IndexerQueue => {
                s.indexer_queue.as_ref().ok_or_else(missing)?.grant(f, scope, p.actions);
            }
            ResourceRef::JwtSecret => {
                s.jwt.grant(f, scope, p.actions);
            }
            ResourceRef::WebhookSecret => {
                s.webhook_secret.grant(f, scope, p.actions);
            }
            ResourceRef::OpenSearchDomain => {
                let domain = s.search.as_ref().ok_or_else(missing)?;
                let (_, sg) = s.vpc.as_ref().ok_or_else(missing)?;
                domain.grant_http(f, scope, p.actions, sg);
            }
        }
    }
    Ok(())
}

/// The event sources of the workers, as `platform_types::routes::event_source` describes them.
fn event_sources(r: &mut Scope, functions: &BTreeMap<Handler, Function>, s: &Regional) -> Result<(), PlatformError> {
    for (h, f) in functions {
        match platform_types::routes::event_source(*h) {
            EventSource::Sqs { batch_size, maximum_batching_window_seconds, report_batch_item_failures, .. } => {
                let queue = match h {
                    Handler::WebhookWorker => &s.webhooks,
                    Handler::Indexer => {
                        s.indexer_queue.as_ref().ok_or_else(|| PlatformError::Config("no indexer queue".into()))?
                    }
                    _ => continue,
                };
                f.add_sqs_source(
                    r,
                    "Source",
                    queue,
                    SqsSourceProps {
                        batch_size: Some(batch_size),
                        max_batching_window_seconds: Some(maximum_batching_window_seconds),
                        report_batch_item_failures: Some(report_batch_item_failures),
                        ..SqsSourceProps::default()
                    },
                )?;
            }
            EventSource::DynamoDbStream {
                batch_size,
                maximum_retry_attempts,
                bisect_batch_on_function_error,
                report_batch_item_failures,
            } => {
                f.add_dynamodb_stream_source(
                    r,
                    "Changes",
                    &s.entity,
                    &s.stream_failures,
                    StreamSourceProps {
                        batch_size: Some(batch_size),
                        retry_attempts: Some(maximum_retry_attempts),
                        bisect_batch_on_function_error: Some(bisect_batch_on_function_error),
                        report_batch_item_failures: Some(report_batch_item_failures),
                        ..StreamSourceProps::default()
                    },
                )?;
            }
            EventSource::ApiGateway | EventSource::Authorizer | EventSource::StepFunctionsTask => {}
        }
    }
    Ok(())
}

/// The export workflow: export (retried, with a timeout) → notify, or notify the failure.
fn export_workflow(r: &mut Scope, exporter: &Function, s: &Regional) -> Result<StateMachine, PlatformError> {
    let notify = |detail_type: &str, path: &str, next: Next| {
        State::Task(Task {
            resource: TaskResource::PutEvents {
                bus: s.bus.clone(),
                source: "platform.exports".into(),
                detail_type: detail_type.into(),
                detail_path: path.into(),
            },
            next,
            retry: vec![Retry::backoff(&["States.ALL"], 3)],
            catch: vec![],
            timeout_seconds: 30,
            result_path: Some("$.notified".into()),
        })
    };
    let graph = Graph::new("Export")
        .state(
            "Export",
            State::Task(Task {
                resource: TaskResource::InvokeFunction(exporter.clone()),
                next: Next::to("Exported"),
                // Lambda's own transient errors and the handler's retryable ones; InvalidInput is not retried.
                retry: vec![Retry::backoff(
                    &[
                        "Lambda.ServiceException",
                        "Lambda.TooManyRequestsException",
                        "Lambda.SdkClientException",
                        "Retryable",
                    ],
                    4,
                )],
                catch: vec![Catch {
                    errors: vec!["States.ALL".into()],
                    next: "NotifyFailure".into(),
                    result_path: Some("$.error".into()),
                }],
                // The exporter's own timeout plus the cold start.
                timeout_seconds: timeout_seconds(Handler::Exporter) + 30,
                result_path: Some("$.export".into()),
            }),
        )
        .state(
            "Exported",
            State::Choice(Choice {
                rules: vec![(Condition::IsPresent("$.export.Payload.url".into(), true), "NotifyExport".into())],
                default: "NothingToNotify".into(),
            }),
        )
        .state("NotifyExport", notify("ExportCompleted", "$.export.Payload", Next::End))
        .state("NothingToNotify", State::Succeed)
        .state("NotifyFailure", notify("ExportFailed", "$.error", Next::to("Failed")))
        .state(
            "Failed",
            State::Fail(Fail {
                error: "ExportFailed".into(),
                cause: "the export task failed after its retries".into(),
            }),
        );
    Ok(StateMachine::new(
        r,
        "ExportWorkflow",
        graph,
        StateMachineProps {
            // A day: an export that runs longer is stuck.
            timeout_seconds: Some(86_400),
            encryption_key: Some(s.key.clone()),
            ..StateMachineProps::default()
        },
    )?)
}

/// One route in its route stack: a function of its own when asked, the resources, the method and its permission.
#[allow(clippy::too_many_arguments)]
fn add_route(
    scope: &mut Scope,
    api: &mut RestApi,
    route: &RouteConfig,
    authorizer: &Authorizer,
    models: &BTreeMap<String, Model>,
    functions: &BTreeMap<Handler, Function>,
    config: &PlatformConfig,
    assets: &PlatformAssets,
    s: &Regional,
) -> Result<(), PlatformError> {
    let own;
    let target = if route.dedicated_function {
        let id = format!("Fn{}", capitalize(&route.operation));
        own = function(scope, &id, route.handler, config, assets, s, true)?;
        &own
    } else {
        functions
            .get(&route.handler)
            .ok_or_else(|| PlatformError::Config(format!("no function for {:?}", route.handler)))?
    };
    api.add_method(
        scope,
        &route.method,
        &route.path,
        target,
        Authorization::Custom(authorizer.clone()),
        MethodProps {
            request_model: route.model.as_ref().map(|(n, _)| models[n].clone()),
            required_headers: route.required_headers(),
            api_key_required: config.features.enforce_usage_plans,
            operation_name: Some(route.operation.clone()),
            throttle: None,
        },
    )?;
    Ok(())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// What the constructs cannot see: the configuration's own consistency.
fn check(config: &PlatformConfig) -> Result<(), PlatformError> {
    let bad = |m: String| Err(PlatformError::Config(m));
    if config.tiers.is_empty() {
        return bad("at least one tenant tier is needed".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for t in &config.tiers {
        if t.name.is_empty() || !t.name.chars().all(|c| c.is_ascii_lowercase()) || !names.insert(t.name.as_str()) {
            return bad(format!(
                "tier name {:?} must be unique lowercase letters (the authorizer's tier names)",
                t.name
            ));
        }
    }
    if config.routes.is_empty() {
        return bad("the API needs at least one route".into());
    }
    for r in &config.routes {
        if !matches!(r.handler, Handler::ApiRead | Handler::ApiWrite) {
            return bad(format!(
                "route {} {} is served by {:?}; routes are served by ApiRead or ApiWrite",
                r.method, r.path, r.handler
            ));
        }
    }
    if config.stage.is_empty() || !config.stage.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return bad(format!(
            "stage {:?} must be lowercase letters and digits (it names stacks and the API stage)",
            config.stage
        ));
    }
    Ok(())
}

/// An alarm notifying `topic`: `periods` evaluation periods, half of them (at least one) breaching.
fn alarm(
    scope: &mut Scope,
    id: &str,
    metric: &Metric,
    threshold: f64,
    description: &str,
    topic: &Val<String>,
    periods: u32,
) -> Result<Alarm, ConstructError> {
    Alarm::new(
        scope,
        id,
        metric,
        threshold,
        AlarmProps {
            evaluation_periods: Some(periods),
            datapoints_to_alarm: Some(periods.div_ceil(2)),
            description: Some(description.into()),
            actions: vec![topic.clone()],
            ..AlarmProps::default()
        },
    )
}
