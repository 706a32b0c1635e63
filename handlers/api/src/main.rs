//! The `api` Lambda: thin main. Logs, SDK clients and routes are built once per sandbox; each invocation is
//! `api::handle` inside a span with the request and trace ids, followed by one EMF line (`api::Invocation`).

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use powertools::config::Env;
use powertools::observability::{Metrics, init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let counter = powertools::aws::CallCounter::new();
    let ddb = powertools::aws::dynamodb_client(&config, Some(&counter));
    let deps = Arc::new(api::Deps::from_env(ddb, &env)?);
    let router = Arc::new(api::router(deps.role));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayProxyRequest>| {
        let (deps, router, counter) = (deps.clone(), router.clone(), counter.clone());
        async move {
            let span = start_invocation(&event.context);
            let started = Instant::now();
            let tenant = api::tenant_of(&event.payload);
            let response = api::handle(deps, &router, event.payload).instrument(span).await;
            let mut m = Metrics::from_env();
            api::Invocation {
                request_id: &event.context.request_id,
                tenant: tenant.as_deref(),
                status: response.status_code,
                latency: started.elapsed(),
                dynamodb_calls: counter.take().values().sum(),
            }
            .record(&mut m);
            m.flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
