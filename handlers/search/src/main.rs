//! The `search` Lambda: thin main. The HTTPS client is built on first use.

use std::sync::Arc;

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use powertools::config::Env;
use powertools::observability::{init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let deps = Arc::new(search::Deps::from_env(&config, &env)?);
    let router = Arc::new(search::router());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayProxyRequest>| {
        let (deps, router) = (deps.clone(), router.clone());
        async move {
            let state = search::State { deps, trace_header: event.context.xray_trace_id.clone() };
            let span = start_invocation(&event.context);
            let response = search::handle(state, &router, event.payload).instrument(span).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
