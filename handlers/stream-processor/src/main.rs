//! The `stream-processor` Lambda: thin main.

use lambda_runtime::{LambdaEvent, service_fn};
use powertools::batch::{BatchResponse, StreamEvent};
use powertools::observability::{Metrics, Unit, init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = powertools::aws::config_from_env()?;
    let bus = std::env::var(platform_types::env::EVENT_BUS_NAME)
        .map_err(|_| format!("environment variable {} is not set", platform_types::env::EVENT_BUS_NAME))?;
    let deps = std::sync::Arc::new(stream_processor::Deps {
        eventbridge: aws_sdk_eventbridge::Client::new(&config),
        bus,
        retry: powertools::retry::RetryPolicy::default(),
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let deps = deps.clone();
        async move {
            let trace = event.context.xray_trace_id.clone();
            let span = start_invocation(&event.context);
            let records = event.payload.records;
            let response: BatchResponse =
                stream_processor::handle(&deps, &records, trace.as_deref()).instrument(span).await;
            let mut m = Metrics::from_env();
            m.add("StreamRecords", Unit::Count, records.len() as f64);
            m.add("StreamCheckpoints", Unit::Count, response.batch_item_failures.len() as f64);
            m.flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
