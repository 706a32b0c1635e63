//! The `stream-processor` Lambda: thin main.

use lambda_runtime::{LambdaEvent, service_fn};
use powertools::batch::{BatchResponse, StreamEvent};
use powertools::config::Env;
use powertools::observability::{Metrics, init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let deps = std::sync::Arc::new(stream_processor::Deps::from_env(&config, &env)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let deps = deps.clone();
        async move {
            let trace = event.context.xray_trace_id.clone();
            let span = start_invocation(&event.context);
            let records = event.payload.records;
            let response: BatchResponse =
                stream_processor::handle(&deps, &records, trace.as_deref()).instrument(span).await;
            let mut m = Metrics::from_env();
            stream_processor::record_metrics(&mut m, records.len(), &response);
            m.flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
