//! Amazon API Gateway (REST): the generated CloudFormation types and [`RestApi`]: Lambda proxy methods with
//! exact invoke permissions, Lambda authorizers (TOKEN or REQUEST, cached), request validation with JSON Schema
//! models, a [`Stage`] with JSON access logs, X-Ray, throttling and canary settings, usage plans with API keys,
//! and custom domains.

mod generated;
mod rest_api;
pub(crate) mod rules;
mod stage;

pub use generated::*;
pub use rest_api::{
    ApiKeySource, Authorization, Authorizer, AuthorizerKind, MethodProps, Model, RestApi, RestApiProps, Throttle,
};
pub use stage::{
    ACCESS_LOG_FORMAT, ApiGatewayAccount, Canary, DomainName, EXECUTION_LOG_ACTIONS, EXECUTION_LOG_LIST_ACTIONS,
    LoggingLevel, Quota, QuotaPeriod, Stage, StageProps, UsagePlan, UsagePlanProps,
};
