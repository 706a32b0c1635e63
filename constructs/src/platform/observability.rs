//! What tells the operators: the alarm topic, the alarms (functions, queues, stream, table, workflow; the API's
//! service level objectives, paged once through a composite), the Contributor Insights rules, the dashboard, and
//! the queue-name outputs the dashboard reads from the Regional stack.

use std::collections::BTreeMap;

use platform_types::routes::Handler;
use synth::{Output, Scope, Val};

use super::context::Context;
use super::error::PlatformError;
use super::events::Events;
use super::functions::Functions;
use super::regional::{Regional, Resources};
use crate::apigateway::Stage;
use crate::cloudwatch::slo::{Indicator, PAGE_WINDOWS, burn_rate_expression, error_budget};
use crate::cloudwatch::{
    Alarm, AlarmProps, AlarmRule, Comparison, CompositeAlarm, ContributorFilter, ContributorRule, Dashboard, Metric,
    Series, Stat, Widget,
};
use crate::error::ConstructError;
use crate::kms::Key;
use crate::sns::Topic;
use crate::sqs::Queue;
use crate::stepfunctions::StateMachine;

/// The topic every alarm of the platform notifies (the billing alarm has its own, in the Edge stack), with the
/// stage's subscribers.
pub(super) fn alarm_topic(scope: &mut Scope, ctx: &Context, key: &Key) -> Result<Topic, PlatformError> {
    let topic = Topic::new(scope, "Alarms", key)?;
    topic.allow_cloudwatch_alarms(scope);
    subscribe(scope, ctx, &topic)?;
    Ok(topic)
}

/// Subscribes the stage's `alarm_subscriptions` to `topic`, as `Subscriber1`, `Subscriber2`... in file order.
pub(super) fn subscribe(scope: &mut Scope, ctx: &Context, topic: &Topic) -> Result<(), PlatformError> {
    for (i, subscriber) in ctx.config.alarm_subscriptions.iter().enumerate() {
        topic.subscribe(scope, &format!("Subscriber{}", i + 1), subscriber)?;
    }
    Ok(())
}

/// Alarms that notify one topic.
pub(super) struct Alarms {
    topic_arn: Val<String>,
}

impl Alarms {
    pub fn to(topic: &Topic) -> Alarms {
        Alarms { topic_arn: topic.arn() }
    }

    /// Alarm `id`: `metric` at or above `threshold` in half (at least one) of `periods` evaluation periods.
    pub fn add(
        &self,
        scope: &mut Scope,
        id: &str,
        metric: &Metric,
        threshold: f64,
        periods: u32,
        description: &str,
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
                actions: vec![self.topic_arn.clone()],
                ..AlarmProps::default()
            },
        )
    }

    /// Alarm `id` on one occurrence in one period: for counts of what should not happen at all.
    pub fn on_any(
        &self,
        scope: &mut Scope,
        id: &str,
        metric: &Metric,
        description: &str,
    ) -> Result<Alarm, ConstructError> {
        self.add(scope, id, metric, 1.0, 1, description)
    }
}

/// The alarms of the Regional stack: every function's errors and throttles, the stream's lag, work in a
/// dead-letter queue, throttled table requests, failed exports. Returns each function's error alarm (what a
/// deployment of the function rolls back on).
pub(super) fn regional_alarms(
    scope: &mut Scope,
    resources: &Resources,
    functions: &Functions,
    events: &Events,
    export_workflow: &StateMachine,
) -> Result<BTreeMap<Handler, Alarm>, PlatformError> {
    let alarms = Alarms::to(&resources.alarm_topic);
    let data = &resources.data;
    let mut error_alarms = BTreeMap::new();
    for (handler, function) in functions.iter() {
        let name = handler.name();
        let errors = alarms.on_any(scope, &format!("{name}Errors"), &function.metric_errors(), "invocations failed")?;
        error_alarms.insert(*handler, errors);
        alarms.on_any(scope, &format!("{name}Throttles"), &function.metric_throttles(), "invocations throttled")?;
    }
    // A minute behind the stream means events are late for every consumer.
    let iterator_age = functions.get(Handler::StreamProcessor)?.metric_iterator_age();
    alarms.add(scope, "StreamIteratorAge", &iterator_age, 60_000.0, 3, "stream processing lags more than a minute")?;
    let mut dead_letters: Vec<(&str, &Queue)> = vec![("UndeliveredEvents", &events.undelivered)];
    if let Some(queue) = data.webhook_deliveries.dead_letter_queue() {
        dead_letters.push(("WebhookDlq", queue));
    }
    if let Some(queue) = data.pdf_jobs.dead_letter_queue() {
        dead_letters.push(("PdfJobsDlq", queue));
    }
    if let Some(queue) = data.audit_indexing.as_ref().and_then(Queue::dead_letter_queue) {
        dead_letters.push(("IndexerDlq", queue));
    }
    if let Some(queue) = data.uploads.scans.dead_letter_queue() {
        dead_letters.push(("UploadScansDlq", queue));
    }
    if let Some(queue) = &data.stream_failures {
        dead_letters.push(("StreamFailures", queue));
    }
    for (name, queue) in dead_letters {
        let why = "messages in a dead-letter queue: work that failed";
        alarms.on_any(scope, &format!("{name}Depth"), &queue.metric_visible_messages(), why)?;
    }
    let entities = &data.entities;
    alarms.on_any(scope, "EntitiesReadThrottles", &entities.metric_read_throttles(), "entity table reads throttled")?;
    alarms.on_any(
        scope,
        "EntitiesWriteThrottles",
        &entities.metric_write_throttles(),
        "entity table writes throttled",
    )?;
    alarms.on_any(scope, "ExportWorkflowFailures", &export_workflow.metric_failed(), "an export failed")?;
    Ok(error_alarms)
}

/// Lambda's arm64 prices (the platform's functions are all arm64): USD per GB-second and per request, us-east-1 and
/// eu-west-1 alike (<https://aws.amazon.com/lambda/pricing/>; the pinned, dated table `xtask/prices/` cites them too).
const LAMBDA_ARM64_USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_USD_PER_REQUEST: f64 = 0.000_000_2;
/// Days a month, for the daily share of the monthly budget (the longest month: the share errs low, alarms early).
const DAYS_PER_MONTH: f64 = 31.0;

/// A cost alarm per function: its invocations and duration over a day, as metric math, priced at the function's
/// memory (`Invocations * avg Duration / 1000 * memory GB * price per GB-s + Invocations * price per request`),
/// against its even share of the stage's `monthly_budget_usd` per day. Compute is what a runaway loop or a retry
/// storm multiplies; the budget sees it a day or more later, the alarm within the day.
pub(super) fn cost_alarms(
    scope: &mut Scope,
    ctx: &Context,
    resources: &Resources,
    functions: &Functions,
) -> Result<(), PlatformError> {
    let alarms = &resources.alarm_topic;
    let count = functions.iter().count().max(1) as f64;
    // Whole cents down: a readable threshold in the template, and it errs towards alarming.
    let threshold = (ctx.config.monthly_budget_usd / DAYS_PER_MONTH / count * 100.0).floor() / 100.0;
    // One day: the longest period CloudWatch evaluates metric math over in one datapoint
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
    let day = 86_400;
    for (handler, function) in functions.iter() {
        let name = handler.name();
        let gb = f64::from(function.memory_mb()) / 1024.0;
        let expression = format!(
            "invocations * duration / 1000 * {gb} * {LAMBDA_ARM64_USD_PER_GB_SECOND} + invocations * {LAMBDA_USD_PER_REQUEST}"
        );
        let invocations = function.metric_invocations().with_period(day);
        let duration = function.metric_duration_average().with_period(day);
        Alarm::on_expression(
            scope,
            &format!("{name}DailyCost"),
            &expression,
            &[("invocations", &invocations), ("duration", &duration)],
            threshold,
            AlarmProps {
                comparison: Comparison::GreaterThan,
                description: Some(format!(
                    "compute cost above {threshold:.2} USD a day: {name}'s even share of the {} USD monthly budget",
                    ctx.config.monthly_budget_usd
                )),
                actions: vec![alarms.arn()],
                ..AlarmProps::default()
            },
        )?;
    }
    Ok(())
}

/// A queue the dashboard graphs. Queue names are computed from ARNs (`Fn::Split`); such values cross stacks only
/// as outputs of their own, so each watched queue's name is one.
pub(super) struct QueueOutput {
    /// The stack the output is in.
    pub stack_name: String,
    pub output: String,
    /// The queue's label on the dashboard (`webhook deliveries`).
    pub label: String,
}

/// The name outputs of the queues worth watching: work waiting and work that failed.
pub(super) fn queue_outputs(scope: &mut Scope, webhook_deliveries: &Queue, events: &Events) -> Vec<QueueOutput> {
    let mut watched = vec![(webhook_deliveries, "webhook deliveries"), (&events.undelivered, "undelivered events")];
    if let Some(failed) = webhook_deliveries.dead_letter_queue() {
        watched.push((failed, "failed webhooks"));
    }
    let stack_name = scope.stack().name().to_owned();
    let mut outputs = Vec::new();
    for (queue, label) in watched {
        let output = format!("{}QueueName", synth::logical_id_of(queue.path()));
        scope.stack_mut().add_output(
            output.as_str(),
            Output::new(queue.name()).with_description(format!("Name of the {label} queue")),
        );
        outputs.push(QueueOutput { stack_name: stack_name.clone(), output, label: label.to_owned() });
    }
    outputs
}

/// The API's service level alarms, its Contributor Insights rules and the platform's dashboard, into `scope` (the
/// Api stack).
pub(super) fn api(scope: &mut Scope, ctx: &Context, stage: &Stage, regional: &Regional) -> Result<(), PlatformError> {
    let slo = slo_alarms(scope, ctx, stage, &regional.resources.alarm_topic)?;
    let rules = contributor_rules(scope, stage)?;
    dashboard(scope, ctx, stage, &slo, &rules, regional)?;
    Ok(())
}

/// What the API's objectives are watched with: the alarms the dashboard shows, the page first.
pub(super) struct SloAlarms {
    /// The composite: the only one that notifies.
    pub page: CompositeAlarm,
    /// Its children: the burn-rate windows and the anomaly alarms, notifying nothing.
    pub children: Vec<Alarm>,
    /// The two indicators (availability, latency) over the fast window's long period, for the dashboard.
    pub burn_rates: Vec<Series>,
}

/// The API's indicators against the stage's objectives: (name, indicator, error budget).
fn api_indicators(ctx: &Context, stage: &Stage) -> Vec<(&'static str, Indicator, f64)> {
    let slo = &ctx.config.slo;
    vec![
        (
            "Availability",
            Indicator::Ratio { bad: stage.metric_5xx(), total: stage.metric_count() },
            error_budget(slo.availability_percent),
        ),
        (
            "Latency",
            Indicator::SlowerThan {
                latency: stage.metric_latency(),
                threshold_ms: slo.latency_p99_ms,
                total: stage.metric_count(),
            },
            error_budget(LATENCY_OBJECTIVE_PERCENT),
        ),
    ]
}

/// A p99 latency objective: 99 % of requests within the threshold, a budget of 1 %.
const LATENCY_OBJECTIVE_PERCENT: f64 = 99.0;

/// Multi-window, multi-burn-rate alarms on the API's availability and latency (per indicator and window: the
/// long and the short window's burn rate, [`PAGE_WINDOWS`]), anomaly detection on its 5xx and 4xx (where API
/// Gateway counts throttled requests, 429), and one composite over all of them that pages: the children notify
/// nothing (their states are on the dashboard and in the composite's state reason), so an incident that trips
/// several conditions pages once.
fn slo_alarms(scope: &mut Scope, ctx: &Context, stage: &Stage, topic: &Topic) -> Result<SloAlarms, PlatformError> {
    let mut children = Vec::new();
    let mut conditions = Vec::new();
    let mut burn_rates = Vec::new();
    let quiet = AlarmProps::default;
    for (name, indicator, budget) in api_indicators(ctx, stage) {
        let expression = burn_rate_expression(&indicator, budget);
        for window in PAGE_WINDOWS {
            let mut pair = Vec::new();
            for (length, seconds) in [("Long", window.long_seconds), ("Short", window.short_seconds)] {
                let metrics = indicator.metrics(seconds);
                let refs: Vec<(&str, &Metric)> = metrics.iter().map(|(id, m)| (*id, m)).collect();
                let alarm = Alarm::on_expression(
                    scope,
                    &format!("Slo{name}{}{length}", window.name),
                    &expression,
                    &refs,
                    window.burn_rate,
                    AlarmProps {
                        description: Some(format!(
                            "{name} error budget burning at {}x or more over {} min (the {} condition's {} window; {} % of the 30-day budget if it lasts the long window)",
                            window.burn_rate,
                            seconds / 60,
                            window.name.to_lowercase(),
                            length.to_lowercase(),
                            (window.budget_spent() * 100.0).round(),
                        )),
                        ..quiet()
                    },
                )?;
                pair.push(AlarmRule::alarm(&alarm));
                children.push(alarm);
            }
            conditions.push(AlarmRule::All(pair));
        }
        let hour: Vec<(String, Metric)> =
            indicator.metrics(PAGE_WINDOWS[0].long_seconds).into_iter().map(|(id, m)| (id.to_owned(), m)).collect();
        burn_rates.push(Series { label: format!("{name} burn rate (1 h)"), expression, metrics: hour });
    }
    // Two standard deviations: the console's default band; wider misses a doubling at night, narrower pages on
    // every deploy's blip.
    for (id, metric, what) in [
        ("Api5xxAnomaly", stage.metric_5xx(), "API 5xx above the band the last two weeks predict"),
        (
            "ApiThrottlesAnomaly",
            stage.metric_4xx(),
            "API 4xx (throttled requests, 429, count here) above the band the last two weeks predict: see the top tenants and keys",
        ),
    ] {
        let alarm =
            Alarm::on_anomaly(scope, id, &metric, 2.0, AlarmProps { description: Some(what.into()), ..quiet() })?;
        conditions.push(AlarmRule::alarm(&alarm));
        children.push(alarm);
    }
    let slo = &ctx.config.slo;
    let page = CompositeAlarm::new(
        scope,
        "SloPage",
        &AlarmRule::Any(conditions),
        &format!(
            "The API's error budget is burning (objectives: {} % without a 5xx, 99 % within {} ms, over 30 days) or its 5xx or 4xx left their anomaly bands: the state reason names the condition; the per-route Slo alarms say which route",
            slo.availability_percent, slo.latency_p99_ms
        ),
        vec![topic.arn()],
    )?;
    Ok(SloAlarms { page, children, burn_rates })
}

/// The per-route SLO alarm at `<scope>/<id>`: the worse of the route's availability and latency burn rates over
/// the fast condition's long window (1 h) at its rate (14.4x), on the route's per-method metrics. One alarm, not
/// the four of the API's conditions, and notifying nothing: it says which route burns when the API's page fires,
/// and a route stack of 50 routes with functions of their own stays at 8 resources a route (400 of 500).
pub(super) fn route_alarm(
    scope: &mut Scope,
    ctx: &Context,
    id: &str,
    method: &str,
    path: &str,
) -> Result<Alarm, PlatformError> {
    let (availability, latency_ms) = ctx.config.slo.for_route(method, path);
    let metric =
        |name: &str| Stage::metric_of_method(&super::api::api_name(ctx), &ctx.config.stage, method, path, name);
    let window = PAGE_WINDOWS[0];
    let errors = Indicator::Ratio { bad: metric("5XXError"), total: metric("Count") };
    let slow = Indicator::SlowerThan { latency: metric("Latency"), threshold_ms: latency_ms, total: metric("Count") };
    let mut metrics = errors.metrics(window.long_seconds);
    metrics.extend(slow.metrics(window.long_seconds).into_iter().filter(|(id, _)| *id != "total"));
    let refs: Vec<(&str, &Metric)> = metrics.iter().map(|(id, m)| (*id, m)).collect();
    let steps = [
        ("availability", burn_rate_expression(&errors, error_budget(availability))),
        ("latency", burn_rate_expression(&slow, error_budget(LATENCY_OBJECTIVE_PERCENT))),
    ];
    Ok(Alarm::on_expressions(
        scope,
        id,
        &steps,
        "MAX([availability, latency])",
        &refs,
        window.burn_rate,
        AlarmProps {
            description: Some(format!(
                "{method} {path}: error budget burning at {}x or more over the last hour (objectives: {availability} % without a 5xx, 99 % within {latency_ms} ms)",
                window.burn_rate
            )),
            ..AlarmProps::default()
        },
    )?)
}

/// Contributor Insights rules on the access logs: the top tenants and API keys by requests and by errors (4xx and
/// 5xx): who is noisy, and whose requests fail.
fn contributor_rules(scope: &mut Scope, stage: &Stage) -> Result<Vec<(String, ContributorRule)>, PlatformError> {
    let errors = ContributorFilter { field: "$.status".into(), prefixes: vec!["4".into(), "5".into()] };
    let mut rules = Vec::new();
    for (id, key, filters, title) in [
        ("TopTenants", "$.tenantId", vec![], "Top tenants by requests"),
        ("TopTenantsByErrors", "$.tenantId", vec![errors.clone()], "Top tenants by errors (4xx, 5xx)"),
        ("TopApiKeys", "$.apiKeyId", vec![], "Top API keys by requests"),
        ("TopApiKeysByErrors", "$.apiKeyId", vec![errors.clone()], "Top API keys by errors (4xx, 5xx)"),
    ] {
        rules.push((title.to_owned(), ContributorRule::new(scope, id, stage.access_logs(), &[key], &filters)?));
    }
    Ok(rules)
}

/// One dashboard: the API, its alarms, every function's errors and throttles, the queues, the stream's lag.
fn dashboard(
    scope: &mut Scope,
    ctx: &Context,
    stage: &Stage,
    slo: &SloAlarms,
    rules: &[(String, ContributorRule)],
    regional: &Regional,
) -> Result<Dashboard, PlatformError> {
    let functions = &regional.functions;
    let mut function_metrics: Vec<Metric> =
        functions.iter().map(|(_, f)| f.metric_errors().with_label(f.path())).collect();
    function_metrics
        .extend(functions.iter().map(|(_, f)| f.metric_throttles().with_label(&format!("{} throttles", f.path()))));
    let queue_metrics: Vec<Metric> = regional
        .queue_outputs
        .iter()
        .map(|q| {
            Metric::new("AWS/SQS", "ApproximateNumberOfMessagesVisible")
                .with_dimension("QueueName", Val::get_stack_output(q.stack_name.as_str(), q.output.as_str(), None))
                .with_stat(Stat::Maximum)
                .with_label(&q.label)
        })
        .collect();
    let prefix = &ctx.prefix;
    Ok(Dashboard::new(
        scope,
        "Dashboard",
        vec![
            Widget::Graph {
                title: "API".into(),
                metrics: vec![stage.metric_5xx(), stage.metric_4xx(), stage.metric_latency_p99()],
            },
            Widget::Alarms {
                title: "API objectives: the page and its conditions".into(),
                alarms: std::iter::once(slo.page.arn()).chain(slo.children.iter().map(Alarm::arn)).collect(),
            },
            Widget::Expression {
                title: "Error budget burn rate (1 h): 1 spends the 30-day budget in 30 days".into(),
                series: slo.burn_rates.clone(),
                annotations: PAGE_WINDOWS.iter().map(|w| (format!("{} burn", w.name.to_lowercase()), w.burn_rate)).collect(),
            },
            Widget::Graph { title: "Function errors and throttles".into(), metrics: function_metrics },
            Widget::Graph { title: "Queues".into(), metrics: queue_metrics },
            Widget::Graph {
                title: "Stream lag".into(),
                metrics: vec![functions.get(Handler::StreamProcessor)?.metric_iterator_age()],
            },
            Widget::Text {
                markdown: format!(
                    "# {prefix}\nRequest path, async path and data. Alarms notify the platform topic; of the API's objectives only the page does."
                ),
            },
        ]
        .into_iter()
        .chain(rules.iter().map(|(title, rule)| Widget::Contributors { title: title.clone(), rule_name: rule.name() }))
        .collect(),
    )?)
}
