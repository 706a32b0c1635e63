//! The `authorizer` Lambda: thin main. Clients are built once; the signing key is fetched on first use.

use aws_lambda_events::event::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use powertools::config::Env;
use powertools::observability::{init_logging, start_invocation};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let env = Env::process();
    let config = powertools::aws::config_from(&env)?;
    let deps = std::sync::Arc::new(authorizer::Deps::from_env(&config, &env)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| {
        let deps = deps.clone();
        async move {
            let span = start_invocation(&event.context);
            authorizer::handle(&deps, event.payload).instrument(span).await
        }
    }))
    .await
}
