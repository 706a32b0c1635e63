//! The `api` Lambda: thin main. Logs, SDK clients and routes are built once per sandbox; each invocation is
//! `api::handle` inside a span with the request and trace ids, followed by one EMF line.

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use powertools::observability::{Metrics, Unit, init_logging, start_invocation};
use powertools::router::Response;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = powertools::aws::config_from_env()?;
    let counter = powertools::aws::CallCounter::new();
    let ddb = powertools::aws::dynamodb_client(&config, Some(&counter));
    let deps = Arc::new(api::Deps::from_env(ddb)?);
    let router = Arc::new(api::router(deps.role));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayProxyRequest>| {
        let (deps, router, counter) = (deps.clone(), router.clone(), counter.clone());
        async move {
            let span = start_invocation(&event.context);
            let started = Instant::now();
            let tenant = event
                .payload
                .request_context
                .authorizer
                .fields
                .get("tenantId")
                .and_then(|v| v.as_str().map(String::from));
            let response: Response = api::handle(deps, &router, event.payload).instrument(span).await;
            let mut m = Metrics::from_env();
            if let Some(t) = tenant {
                m.dimension("tenant", &t);
            }
            m.add("Requests", Unit::Count, 1.0);
            m.add(
                if response.status_code >= 500 {
                    "Errors5xx"
                } else if response.status_code >= 400 {
                    "Errors4xx"
                } else {
                    "Successes"
                },
                Unit::Count,
                1.0,
            );
            m.add("Latency", Unit::Milliseconds, started.elapsed().as_secs_f64() * 1000.0);
            m.add("DynamoDBCalls", Unit::Count, f64::from(counter.take().values().sum::<u32>()));
            m.property("request_id", event.context.request_id.as_str());
            m.property("status", response.status_code);
            m.flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
