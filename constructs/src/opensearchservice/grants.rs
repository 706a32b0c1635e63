//! Domain grants, and their IAM actions as named constants: HTTP access to the domain, in the grantee's policy
//! and in the domain's access policy.
//! <https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ac.html>

use synth::Scope;

use super::{Domain, domain_path};
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
        self.grant_http_on(grantee, scope, actions, "*", clients)
    }

    /// As [`Domain::grant_http`], on the paths matching `paths` only (`audit-events/_search`: one index's search
    /// API), so a read-only grantee cannot reach other indexes or APIs.
    pub fn grant_http_on(
        &self,
        grantee: &dyn Grantable,
        scope: &mut Scope,
        actions: &[&str],
        paths: &str,
        clients: &SecurityGroup,
    ) -> Grant {
        let resource = || domain_path(&self.name, paths);
        add_resource_statement(
            scope,
            &self.handle,
            &self.path,
            PolicyStatement::allow(actions.iter().copied(), [resource()])
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
        // One egress rule per client group, however many of its functions are granted.
        let egress = synth::logical_id_of(&format!("{}/ToSearch", clients.path()));
        if scope.stack_mut().resource_mut(&egress).is_none() {
            clients.allow_egress_to(scope, "ToSearch", &self.security_group, 443, "HTTPS to the search domain");
        }
        grant(grantee, scope, vec![PolicyStatement::allow(actions.iter().copied(), [resource()])])
    }
}
