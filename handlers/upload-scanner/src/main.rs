//! The `upload-scanner` Lambda (SQS worker): thin main. The HTTPS client for S3 is built on first use.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use powertools::batch::BatchResponse;
use powertools::config::Env;
use powertools::observability::{init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let deps = std::sync::Arc::new(upload_scanner::Deps::from_env(&config, &env)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = deps.clone();
        async move {
            let span = start_invocation(&event.context);
            let response: BatchResponse =
                Box::pin(upload_scanner::handle(&deps, &event.payload).instrument(span)).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
