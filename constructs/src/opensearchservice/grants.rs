//! Domain grants, and their IAM actions as named constants: HTTP access to the domain, in the grantee's policy
//! and in the domain's access policy.
//! <https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ac.html>

use synth::Scope;

use super::{Domain, domain_paths};
use crate::ec2::SecurityGroup;
use crate::iam::{Grant, Grantable, PolicyStatement, Principal, add_resource_statement, grant};

/// What the fine-grained access control master may call: every HTTP method (the master maps other roles inside
/// OpenSearch, which then decides).
pub const MASTER_ACTIONS: &[&str] = &["es:ESHttp*"];

impl Domain {
    /// Grants `actions` (`es:ESHttpPost`) on the domain's paths, in the grantee's policy and in the domain's
    /// access policy (both must allow; fine-grained access control then maps the role inside OpenSearch), and opens
    /// HTTPS from `clients`. `scope` must be in the domain's stack.
    pub fn grant_http(
        &self,
        grantee: &dyn Grantable,
        scope: &mut Scope,
        actions: &[&str],
        clients: &SecurityGroup,
    ) -> Grant {
        let paths = domain_paths(&self.name);
        add_resource_statement(
            scope,
            &self.handle,
            &self.path,
            PolicyStatement::allow(actions.iter().copied(), [domain_paths(&self.name)])
                .with_principal(Principal::Aws(grantee.grant_role().arn())),
        );
        let id = grantee.grant_role().path().replace('/', "");
        self.security_group.allow_ingress_from(
            scope,
            &format!("From{id}"),
            clients,
            443,
            "HTTPS from a granted client",
        );
        clients.allow_egress_to(scope, "ToSearch", &self.security_group, 443, "HTTPS to the search domain");
        grant(grantee, scope, vec![PolicyStatement::allow(actions.iter().copied(), [paths])])
    }
}
