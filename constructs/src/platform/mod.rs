//! The platform (L3): one [`PlatformConfig`] → the architecture the README's "The platform" section describes, as
//! stacks (`build.rs` builds them in this order, one file per step):
//!
//! - `Edge` (us-east-1, `edge.rs`): the CloudFront web ACL, the distribution's certificate, the billing alarm
//!   (CloudFront, WAF-for-CloudFront, ACM-for-CloudFront and billing metrics live only there).
//! - `Replica<Region>` (one per other serving region and data-only replica region, `replica.rs`): the key the entity
//!   table's replica there is encrypted with.
//! - `Regional` (`regional.rs`, its steps in order): everything stateful (`data.rs`: tables, queues, buckets,
//!   secrets, bus, keys; `network.rs`: VPC, cache, search), the functions with their environment, grants and event
//!   sources (`functions.rs`, `environment.rs`, `grants.rs`), the export workflow (`workflow.rs`), event routing
//!   (`events.rs`), the REST API's root (`api.rs`: authorizer, models, web ACL, custom domain), the region's latency
//!   record, health check and own name (`failover.rs`), the distribution (`distribution.rs`, primary region only),
//!   alarms (`observability.rs`).
//! - `Routes1`..`RoutesN` (`routes.rs`): the API's resources and methods, [`ROUTES_PER_STACK`] routes each (with
//!   their invoke permissions and any function of their own). Route *i* is always in stack *i* /
//!   [`ROUTES_PER_STACK`] + 1, so adding routes adds stacks and never moves a method; stateful resources never leave
//!   `Regional`.
//! - `Api`: the deployment and stage (after every route stack), its logs, the stage's web ACL association, the
//!   usage plans (`api.rs`), the API alarms and the dashboard (`observability.rs`).
//! - Every other serving region (`regions`): the same steps into `Regional<Region>`, `Routes<n><Region>` and
//!   `Api<Region>` (e.g. `RegionalUsWest2`), over the entity table's replica there. The first region's stacks keep
//!   their ids, so adding a region adds stacks and moves nothing.
//!
//! [`check()`] first reports every problem of the configuration at once (`check.rs`). References between stacks are
//! `Fn::GetStackOutput` written by synth. The platform is pure: the handler assets come in through
//! [`PlatformAssets`], and [`synth()`] runs the rule pack.

mod api;
mod build;
mod check;
mod config;
mod context;
mod data;
mod distribution;
mod edge;
mod environment;
mod error;
mod events;
mod failover;
mod functions;
mod grants;
mod network;
mod observability;
mod regional;
mod replica;
mod rollout;
mod routes;
pub mod stage;
mod uploads;
mod workflow;

/// The contract with the handlers (routes, env var names, permissions), re-exported for callers and tests.
pub use ::platform_types as types;
pub use build::{build, synth};
pub use check::check;
pub use config::{
    DomainConfig, Features, OidcConfig, PlatformAssets, PlatformConfig, RouteConfig, RouteObjective, SloConfig,
    TenantTier, handler_crates,
};
pub use error::{ConfigProblem, PlatformError};
pub use routes::ROUTES_PER_STACK;
