//! The `indexer` Lambda: thin main. The HTTPS client is built on first use.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use platform_types::env;
use powertools::batch::BatchResponse;
use powertools::observability::{init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = powertools::aws::config_from_env()?;
    let endpoint = std::env::var(env::OPENSEARCH_ENDPOINT)
        .map_err(|_| format!("environment variable {} is not set", env::OPENSEARCH_ENDPOINT))?;
    let endpoint = if endpoint.starts_with("https://") { endpoint } else { format!("https://{endpoint}") };
    let index = std::env::var(env::OPENSEARCH_INDEX).unwrap_or_else(|_| "audit-events".into());
    let region = config.region().map(|r| r.to_string()).ok_or("no region (AWS_REGION)")?;
    let credentials = config.credentials_provider().ok_or("no credentials provider")?;
    let deps = std::sync::Arc::new(indexer::Deps::new(&endpoint, &index, &region, credentials));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = deps.clone();
        async move {
            let trace = event.context.xray_trace_id.clone();
            let span = start_invocation(&event.context);
            let response: BatchResponse =
                Box::pin(indexer::handle(&deps, &event.payload, trace.as_deref()).instrument(span)).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
