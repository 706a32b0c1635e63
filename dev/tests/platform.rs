//! The emulators on the platform's real templates (synthesized in process, default dev configuration): its
//! EventBridge rules against the domain events the stream processor emits, and its export workflow.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use constructs::platform::PlatformConfig;
use dev::events::rule::{ResourceRef, bus_name};
use dev::events::{PutEventsEntry, TargetInput, TargetKind, parse_rules, route};
use platform_types::api::{Currency, Plan};
use platform_types::events::{
    ApiKeyRevoked, DomainEvent, EVENT_SOURCE, InvoiceGenerated, OrderCreated, SubscriptionUpgraded,
};
use serde_json::Value;

fn templates() -> BTreeMap<String, Value> {
    let a = tests::platform(&PlatformConfig::default_for("dev"));
    a.stacks.iter().map(|s| (s.id.clone(), serde_json::from_str(&s.template).unwrap())).collect()
}

fn domain_events() -> Vec<DomainEvent> {
    vec![
        DomainEvent::OrderCreated(OrderCreated {
            event_id: "e1".into(),
            tenant_id: "t1".into(),
            order_id: "o1".into(),
            total_cents: 1250,
            currency: Currency::EUR,
            created_at: "2026-01-01T00:00:00Z".into(),
        }),
        DomainEvent::SubscriptionUpgraded(SubscriptionUpgraded {
            event_id: "e2".into(),
            tenant_id: "t1".into(),
            subscription_id: "s1".into(),
            from_plan: Plan::Free,
            to_plan: Plan::Pro,
            seats: 3,
            version: 2,
            upgraded_at: "2026-01-01T00:00:00Z".into(),
        }),
        DomainEvent::ApiKeyRevoked(ApiKeyRevoked {
            event_id: "e3".into(),
            tenant_id: "t1".into(),
            key_id: "k1".into(),
            revoked_at: "2026-01-01T00:00:00Z".into(),
        }),
        DomainEvent::InvoiceGenerated(InvoiceGenerated {
            event_id: "e4".into(),
            tenant_id: "t1".into(),
            invoice_id: "i1".into(),
            amount_cents: 990,
            currency: Currency::USD,
            created_at: "2026-01-01T00:00:00Z".into(),
        }),
    ]
}

/// The event EventBridge delivers for what the stream processor puts (source, detail-type, detail as JSON).
fn delivered(e: &DomainEvent, bus: &str) -> Value {
    PutEventsEntry {
        event_bus_name: Some(bus.into()),
        source: EVENT_SOURCE.into(),
        detail_type: e.detail_type().into(),
        detail: serde_json::to_value(e).unwrap(),
        resources: vec![],
    }
    .to_event(e.event_id(), "2026-01-01T00:00:00Z", "000000000000", "eu-west-1")
}

#[test]
fn every_rule_of_the_platform_parses() {
    for (stack, t) in templates() {
        let rules = parse_rules(&t).unwrap_or_else(|e| panic!("{stack}: {e:?}"));
        for r in &rules {
            assert!(r.pattern.is_some() && r.enabled, "{stack}/{}", r.logical_id);
        }
    }
}

#[test]
fn domain_events_reach_the_rules_the_platform_declares() {
    let all = templates();
    let t = &all["Regional"];
    let rules = parse_rules(t).unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r.logical_id.as_str()).collect();
    assert_eq!(ids, ["Analytics", "Billing", "Notifications"]);
    let bus = "platform-dev-events";
    let names = |b: &ResourceRef| bus_name(b, t);
    let mut seen = BTreeMap::new();
    for e in domain_events() {
        let event = delivered(&e, bus);
        let routed = route(&rules, bus, &event, &names);
        let got: Vec<(String, TargetKind)> =
            routed.iter().map(|(r, t, _)| (r.logical_id.clone(), t.kind.clone())).collect();
        seen.insert(e.detail_type(), got);
        for (r, target, body) in &routed {
            let body: Value = serde_json::from_str(body).unwrap();
            match &target.input {
                // Billing starts the export workflow with the invoice only: the exporter's input.
                TargetInput::Path(_) => {
                    assert_eq!(r.logical_id, "Billing");
                    assert_eq!(body, serde_json::to_value(&e).unwrap());
                    assert_eq!(body["tenant_id"], "t1");
                }
                TargetInput::Event => assert_eq!(body, event),
                other => panic!("unexpected input {other:?}"),
            }
            assert_eq!(target.dead_letter, Some(ResourceRef::Logical("UndeliveredEvents".into())));
            assert_eq!(target.retry.maximum_retry_attempts, 185);
        }
        // Not on another bus, not from another source.
        assert!(route(&rules, "default", &event, &names).is_empty());
        let mut forged = event.clone();
        forged["source"] = "someone.else".into();
        assert!(route(&rules, bus, &forged, &names).is_empty());
    }
    let analytics =
        ("Analytics".to_owned(), TargetKind::LogGroup(ResourceRef::Named("/aws/events/platform-dev-analytics".into())));
    let webhooks = ("Notifications".to_owned(), TargetKind::Queue(ResourceRef::Logical("WebhookDeliveries".into())));
    let billing = ("Billing".to_owned(), TargetKind::StateMachine(ResourceRef::Logical("ExportWorkflow".into())));
    assert_eq!(seen["OrderCreated"], [analytics.clone(), webhooks.clone()]);
    assert_eq!(seen["SubscriptionUpgraded"], [analytics.clone(), webhooks.clone()]);
    assert_eq!(seen["ApiKeyRevoked"], [analytics.clone(), webhooks.clone()]);
    assert_eq!(seen["InvoiceGenerated"], [analytics, billing, webhooks]);
}
