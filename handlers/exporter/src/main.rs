//! The `exporter` Lambda (a Step Functions task): thin main.

use std::time::Duration;

use lambda_runtime::{LambdaEvent, service_fn};
use platform_types::env;
use powertools::observability::{init_logging, start_invocation};
use tracing::Instrument;

fn var(name: &'static str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = powertools::aws::config_from_env()?;
    let mut deps = exporter::Deps::new(
        powertools::aws::dynamodb_client(&config, None),
        &var(env::TABLE_NAME)?,
        aws_sdk_s3::Client::new(&config),
        &var(env::EXPORT_BUCKET_NAME)?,
        powertools::clock::system(),
    );
    if let Ok(ttl) = std::env::var(env::EXPORT_URL_TTL_SECONDS) {
        let secs: u64 =
            ttl.parse().map_err(|_| format!("{}={ttl:?} is not a number of seconds", env::EXPORT_URL_TTL_SECONDS))?;
        deps.url_ttl = Duration::from_secs(secs);
    }
    let deps = std::sync::Arc::new(deps);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<exporter::ExportInput>| {
        let deps = deps.clone();
        async move {
            let span = start_invocation(&event.context);
            exporter::handle(&deps, event.payload).instrument(span).await
        }
    }))
    .await
}
