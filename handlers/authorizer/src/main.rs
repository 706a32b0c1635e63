//! The `authorizer` Lambda: thin main. Clients are built once; the signing key is fetched on first use.

use aws_lambda_events::event::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use platform_types::env;
use powertools::observability::{init_logging, start_invocation};
use tracing::Instrument;

fn var(name: &'static str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// The function's credentials (Lambda puts them in the environment).
fn credentials_from_env() -> Result<aws_credential_types::Credentials, lambda_runtime::Error> {
    Ok(aws_credential_types::Credentials::new(
        var("AWS_ACCESS_KEY_ID")?,
        var("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN").ok().filter(|t| !t.is_empty()),
        None,
        "Environment",
    ))
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
    if let Ok(spec) = std::env::var(env::USAGE_PLAN_KEY_IDS) {
        let region = config.region().map(|r| r.to_string()).ok_or("no region (AWS_REGION)")?;
        let endpoint =
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| format!("https://apigateway.{region}.amazonaws.com"));
        let credentials = credentials_from_env()?;
        deps.usage_keys = Some(authorizer::UsageKeys::parse(&spec, &endpoint, &region, credentials)?);
    }
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
