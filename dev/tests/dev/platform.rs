//! The gateway on the platform's own synthesized templates (stage `local`): the routes, authorizer, models and
//! usage plans come from the templates, not from a list kept by hand.

use dev::assembly::Assembly;
use dev::gateway::Gateway;
use dev::gateway::model::{Authorization, KeySource, QuotaPeriod, RestApi};
use serde_json::json;

use crate::fixtures::{Fake, allow, ok, request};

/// Synthesizes the platform for stage `local` (stages/local.toml) into a temporary directory, as `cargo xtask
/// synth --stage local` does.
pub fn platform_assembly() -> (tempfile::TempDir, Assembly) {
    let config = tests::stage_config("local", &[]).unwrap();
    let synthesized = tests::platform(&config);
    let dir = tempfile::tempdir().unwrap();
    for s in &synthesized.stacks {
        std::fs::write(dir.path().join(&s.template_file), &s.template).unwrap();
    }
    std::fs::write(dir.path().join("manifest.json"), synthesized.manifest_json()).unwrap();
    let assembly = Assembly::load(dir.path()).unwrap();
    (dir, assembly)
}

#[test]
fn the_platform_api_is_read_from_its_templates() {
    let (_dir, assembly) = platform_assembly();
    let api = RestApi::from_assembly(&assembly, None).unwrap();
    let mut routes = Vec::new();
    for r in &api.resources {
        for (verb, m) in &r.methods {
            routes.push(format!("{verb} {} -> {}", r.path, m.function));
        }
    }
    assert_eq!(
        routes,
        [
            "GET /tenants/{tenant_id}/api-keys -> ApiRead",
            "POST /tenants/{tenant_id}/api-keys -> ApiWrite",
            "DELETE /tenants/{tenant_id}/api-keys/{key_id} -> ApiWrite",
            "GET /tenants/{tenant_id}/events -> EventSearch",
            "POST /tenants/{tenant_id}/exports -> ApiWrite",
            "GET /tenants/{tenant_id}/exports/{export_id} -> ApiRead",
            "POST /tenants/{tenant_id}/invoices -> ApiWrite",
            "GET /tenants/{tenant_id}/invoices/{invoice_id} -> ApiRead",
            "GET /tenants/{tenant_id}/orders -> ApiRead",
            "POST /tenants/{tenant_id}/orders -> ApiWrite",
            "GET /tenants/{tenant_id}/orders/{order_id} -> ApiRead",
            "GET /tenants/{tenant_id}/subscriptions -> ApiRead",
            "POST /tenants/{tenant_id}/subscriptions -> ApiWrite",
            "GET /tenants/{tenant_id}/subscriptions/{subscription_id} -> ApiRead",
            "POST /tenants/{tenant_id}/subscriptions/{subscription_id}/upgrade -> ApiWrite",
            "POST /tenants/{tenant_id}/uploads -> ApiWrite",
            "GET /tenants/{tenant_id}/uploads/{upload_id} -> ApiRead",
            "DELETE /tenants/{tenant_id}/webhook -> ApiWrite",
            "GET /tenants/{tenant_id}/webhook -> ApiRead",
            "PUT /tenants/{tenant_id}/webhook -> ApiWrite",
        ]
    );
    assert_eq!(api.unsupported, []);
    let functions: Vec<_> = assembly.resources_of("AWS::Lambda::Function").collect();
    // One function per handler but the indexer (the local stage has no search domain): the event search's (it
    // answers 501 there), the secret rotator's, the invoice renderer's and the upload scanner's too.
    assert_eq!(functions.len(), 10);
    for (_, f) in functions {
        assert_eq!(dev::runtime::unsupported(f), [], "{}", f.logical_id);
    }
    let post = &api.resource("/tenants/{tenant_id}/orders").unwrap().methods["POST"];
    assert_eq!(post.function, "ApiWrite");
    assert_eq!(post.authorization, Authorization::Custom("ApiAuthorizer".into()));
    assert_eq!(post.request_models["application/json"], "CreateOrderRequest");
    assert_eq!(post.request_parameters.get("method.request.header.Idempotency-Key"), Some(&true));
    assert_eq!(api.authorizers["ApiAuthorizer"].function, "Authorizer");
    assert_eq!(api.stage.name, "local");
    let free = api.usage_plans.iter().find(|p| p.logical_id == "FreePlan").unwrap();
    assert_eq!(free.quota.map(|q| (q.limit, q.period)), Some((10_000, QuotaPeriod::Day)));
    assert_eq!(free.keys, ["FreeApiKey"]);
}

#[tokio::test]
async fn a_bad_order_is_refused_before_the_write_function_runs() {
    let (_dir, assembly) = platform_assembly();
    let mut api = RestApi::from_assembly(&assembly, None).unwrap();
    // The local stage requires the tier's usage plan key, which the authorizer names (key source AUTHORIZER)
    // with the value the local cloud gave the key.
    assert_eq!(api.key_source, KeySource::Authorizer);
    api.set_api_key_value("FreeApiKey", "seeded-free-key").unwrap();
    let fake = Fake::new(|f, _| if f == "Authorizer" { Ok(allow("u", Some("seeded-free-key"))) } else { Ok(ok()) });
    let gw = Gateway::new(api, fake.clone()).unwrap();
    let headers = [("Authorization", "Bearer t"), ("Idempotency-Key", "k-1")];
    let bad = gw.handle(request("POST", "/tenants/acme/orders", &headers, r#"{"items":[],"currency":"USD"}"#)).await;
    assert_eq!((bad.status, bad.json()), (400, json!({"message": "Invalid request body"})));
    assert!(fake.calls_to("ApiWrite").is_empty());
    let good = r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":100}],"currency":"USD"}"#;
    let r = gw.handle(request("POST", "/tenants/acme/orders", &headers, good)).await;
    assert_eq!(r.status, 200);
    assert_eq!(fake.calls_to("ApiWrite").len(), 1);

    // Without the key's value, the authorizer's key is unknown: 403, as from API Gateway.
    let stale = Fake::new(|f, _| if f == "Authorizer" { Ok(allow("u", Some("other"))) } else { Ok(ok()) });
    let gw = Gateway::new(RestApi::from_assembly(&assembly, None).unwrap(), stale).unwrap();
    let r = gw.handle(request("GET", "/tenants/acme/orders", &headers, "")).await;
    assert_eq!((r.status, r.json()), (403, json!({"message": "Forbidden"})));
    let mut api = RestApi::from_assembly(&assembly, None).unwrap();
    let err = api.set_api_key_value("Nope", "v").unwrap_err();
    assert_eq!(
        err.to_string(),
        "AWS::ApiGateway::ApiKey Nope: no such API key; the API has EnterpriseApiKey, FreeApiKey, ProApiKey"
    );
}
