//! Event routing: the rules that send the platform's domain events to their consumers (webhook deliveries, audit
//! search, invoice PDFs, analytics) and the queue of events no target took.

use platform_types::events::{EVENT_SOURCE, detail_type};
use synth::{Scope, Val};

use super::context::Context;
use super::data::{Data, dead_letter_queue};
use super::error::PlatformError;
use crate::events::{EventPattern, Rule, RuleProps, Target};
use crate::logs::{LogGroup, LogGroupProps};
use crate::sqs::Queue;

/// What the event routing step made.
pub(super) struct Events {
    /// Events a rule could not deliver to its target.
    pub undelivered: Queue,
}

/// The rules on the bus of `data`, into `scope`: every event to the webhooks, the audit index (with search on)
/// and analytics; generated invoices to the PDF jobs. (Exports are started by the API, `POST
/// /tenants/{tenant_id}/exports`, not by an event.)
pub(super) fn build(scope: &mut Scope, ctx: &Context, data: &Data) -> Result<Events, PlatformError> {
    let undelivered = dead_letter_queue(scope, "UndeliveredEvents", &data.key)?;
    let rule = |scope: &mut Scope, id: &str, pattern: EventPattern, target: Target, props: RuleProps| {
        Rule::new(scope, id, &data.bus, pattern, vec![target], &undelivered, props)
    };
    let described = |description: &str| RuleProps { description: Some(description.into()), ..RuleProps::default() };
    let all_events = EventPattern::new(EVENT_SOURCE, detail_type::ALL);
    rule(
        scope,
        "Notifications",
        all_events.clone(),
        Target::Queue(data.webhook_deliveries.clone()),
        described("Every domain event to the webhook deliveries"),
    )?;
    if let Some(queue) = &data.audit_indexing {
        rule(
            scope,
            "Audit",
            all_events.clone(),
            Target::Queue(queue.clone()),
            described("Every domain event to the audit search index"),
        )?;
    }
    rule(
        scope,
        "Billing",
        EventPattern::new(EVENT_SOURCE, &[detail_type::INVOICE_GENERATED]),
        Target::Queue(data.pdf_jobs.clone()),
        described("A generated invoice queues its PDF job"),
    )?;
    let analytics = LogGroup::new(
        scope,
        "AnalyticsEvents",
        LogGroupProps {
            name: Some(Val::from(format!("/aws/events/{}-analytics", ctx.prefix).as_str())),
            encryption_key: Some(data.key.clone()),
            ..LogGroupProps::default()
        },
    )?;
    rule(
        scope,
        "Analytics",
        all_events,
        Target::LogGroup(analytics),
        described("Every domain event to Logs Insights"),
    )?;
    Ok(Events { undelivered })
}
