//! The platform (L3): one [`PlatformConfig`] → the whole architecture of `PLATFORM.md`, as stacks:
//!
//! - `Edge` (us-east-1): the CloudFront web ACL, the distribution's certificate, the billing alarm (CloudFront,
//!   WAF-for-CloudFront, ACM-for-CloudFront and billing metrics live only there).
//! - `Replica<Region>` (one per replica region): the key the entity table's replica is encrypted with.
//! - `Regional`: everything stateful (tables, queues, buckets, secrets, bus, search, cache, keys), the functions
//!   with their grants and event sources, the REST API's root (authorizer, models, validator), the regional web
//!   ACL, the distribution, alarms.
//! - `Routes1`..`RoutesN`: the API's resources and methods, [`ROUTES_PER_STACK`] routes each (with their invoke
//!   permissions and any function of their own). Route *i* is always in stack *i* / [`ROUTES_PER_STACK`] + 1,
//!   so adding routes adds stacks and never moves a method; stateful resources never leave `Regional`.
//! - `Api`: the deployment and stage (after every route stack), its logs, the stage's web ACL association, the
//!   usage plans, the base path mapping, the API alarms and the dashboard.
//!
//! References between stacks are `Fn::GetStackOutput` written by synth. The platform is pure: the handler assets
//! come in through [`PlatformAssets`], and [`synth`] runs the rule pack.

mod build;
mod config;

/// The contract with the handlers (routes, env var names, permissions), re-exported for callers and tests.
pub use ::platform_types as types;
pub use build::{PlatformError, ROUTES_PER_STACK, build, synth};
pub use config::{DomainConfig, Features, PlatformAssets, PlatformConfig, RouteConfig, TenantTier, handler_crates};
