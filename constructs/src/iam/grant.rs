//! Grants: the one shape every resource uses to give a principal access (`resource.grant_*(grantee, scope)`).
//!
//! A grant adds statements to the grantee's role (identity policy) and returns them, so a caller or a test can see
//! exactly what was given. Resources encrypted with a customer managed key add the KMS actions their service needs,
//! limited with `kms:ViaService` to that service.

use std::collections::BTreeSet;

use synth::{Scope, Val};

use super::policy::PolicyStatement;
use super::role::Role;

/// Something that can be granted permissions: a role, or a construct that has one (a function, a state machine).
pub trait Grantable {
    /// The role whose inline policy grants go to.
    fn grant_role(&self) -> &Role;
}

impl Grantable for Role {
    fn grant_role(&self) -> &Role {
        self
    }
}

/// What a grant gave: the role (by construct path) and the statements added to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub role: String,
    pub statements: Vec<PolicyStatement>,
}

impl Grant {
    /// Every action granted, sorted.
    pub fn actions(&self) -> BTreeSet<&str> {
        self.statements.iter().flat_map(|s| s.actions.iter().map(String::as_str)).collect()
    }
    /// Every resource of the grant, in order.
    pub fn resources(&self) -> Vec<&Val<String>> {
        self.statements.iter().flat_map(|s| s.resources.iter()).collect()
    }
}

/// Adds `statements` to `grantee`'s role and returns the grant.
pub fn grant(grantee: &dyn Grantable, scope: &mut Scope, statements: Vec<PolicyStatement>) -> Grant {
    let role = grantee.grant_role();
    for s in &statements {
        role.add_to_policy(scope, s.clone());
    }
    Grant { role: role.path().to_owned(), statements }
}
