//! The `authorizer` Lambda: thin main. Clients are built once; the signing key is fetched on first use.

use aws_lambda_events::event::apigw::ApiGatewayCustomAuthorizerRequest;
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
    let ddb = powertools::aws::dynamodb_client(&config, None);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let mut deps = authorizer::Deps::new(
        ddb,
        &var(env::TABLE_NAME)?,
        secrets,
        &var(env::JWT_SECRET_ARN)?,
        powertools::clock::system(),
    );
    deps.issuer = std::env::var(env::JWT_ISSUER).ok();
    deps.audience = std::env::var(env::JWT_AUDIENCE).ok();
    let deps = std::sync::Arc::new(deps);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| {
        let deps = deps.clone();
        async move {
            let span = start_invocation(&event.context);
            authorizer::handle(&deps, event.payload).instrument(span).await
        }
    }))
    .await
}
