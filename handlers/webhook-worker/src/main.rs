//! The `webhook-worker` Lambda: thin main. The HTTPS client and the signing secret are set up on first use.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use powertools::batch::BatchResponse;
use powertools::config::Env;
use powertools::observability::{Metrics, init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let deps = std::sync::Arc::new(webhook_worker::Deps::from_env(&config, &env)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = deps.clone();
        async move {
            let trace = event.context.xray_trace_id.clone();
            let span = start_invocation(&event.context);
            // Boxed: the delivery future is deep enough to overflow the compiler's layout recursion limit inline.
            let outcome =
                Box::pin(webhook_worker::handle(&deps, &event.payload, trace.as_deref()).instrument(span)).await;
            let mut m = Metrics::from_env();
            webhook_worker::record_metrics(&mut m, event.payload.records.len(), &outcome);
            m.flush();
            Ok::<BatchResponse, lambda_runtime::Error>(outcome.response)
        }
    }))
    .await
}
