//! AWS IAM: the generated CloudFormation types, policy documents built from typed statements, [`Role`] (one inline
//! policy collected from grants) and the [`Grantable`] / [`Grant`] shape every resource's `grant_*` uses.

mod generated;
mod grant;
mod policy;
mod policy_resource;
mod role;
pub(crate) mod rules;

pub use generated::*;
pub use grant::{Grant, Grantable, grant};
pub use policy::{Effect, PolicyDocument, PolicyStatement, Principal, WILDCARD_METADATA_KEY};
pub use policy_resource::{PolicyResource, add_resource_statement};
pub use role::{Role, RoleProps, RoleResource};
