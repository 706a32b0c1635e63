//! The `exporter` Lambda (a Step Functions task): thin main.

use lambda_runtime::{LambdaEvent, service_fn};
use powertools::config::Env;
use powertools::observability::{init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let deps = std::sync::Arc::new(exporter::Deps::from_env(&config, &env)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<exporter::ExportInput>| {
        let deps = deps.clone();
        async move {
            let span = start_invocation(&event.context);
            exporter::handle(&deps, event.payload).instrument(span).await
        }
    }))
    .await
}
