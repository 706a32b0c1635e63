//! The `webhook-worker` Lambda: thin main. The HTTPS client and the signing secret are set up on first use.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use platform_types::env;
use powertools::batch::BatchResponse;
use powertools::observability::{Metrics, Unit, init_logging, start_invocation};
use tracing::Instrument;

fn var(name: &'static str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = powertools::aws::config_from_env()?;
    let deps = std::sync::Arc::new(webhook_worker::Deps::new(
        powertools::aws::dynamodb_client(&config, None),
        &var(env::TABLE_NAME)?,
        aws_sdk_sqs::Client::new(&config),
        &var(env::QUEUE_URL)?,
        aws_sdk_secretsmanager::Client::new(&config),
        &var(env::WEBHOOK_SECRET_ARN)?,
        powertools::clock::system(),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = deps.clone();
        async move {
            let trace = event.context.xray_trace_id.clone();
            let span = start_invocation(&event.context);
            let n = event.payload.records.len();
            // Boxed: the delivery future is deep enough to overflow the compiler's layout recursion limit inline.
            let response: BatchResponse =
                Box::pin(webhook_worker::handle(&deps, &event.payload, trace.as_deref()).instrument(span)).await;
            let mut m = Metrics::from_env();
            m.add("WebhookMessages", Unit::Count, n as f64);
            m.add("WebhookFailures", Unit::Count, response.batch_item_failures.len() as f64);
            m.flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
