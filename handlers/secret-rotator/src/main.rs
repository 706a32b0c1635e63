//! The `secret-rotator` Lambda: thin main. Secrets Manager invokes it once per rotation step.

use lambda_runtime::{LambdaEvent, service_fn};
use powertools::config::Env;
use powertools::observability::{Metrics, Unit, init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let deps = std::sync::Arc::new(secret_rotator::Deps::from_env(&config, &env)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<secret_rotator::RotationEvent>| {
        let deps = deps.clone();
        async move {
            let span = start_invocation(&event.context);
            let done = secret_rotator::handle(&deps, &event.payload).instrument(span).await?;
            if done == secret_rotator::Done::Finished {
                let mut m = Metrics::from_env();
                m.add("SecretsRotated", Unit::Count, 1.0);
                m.flush();
            }
            Ok::<_, secret_rotator::RotationError>(done)
        }
    }))
    .await
}
