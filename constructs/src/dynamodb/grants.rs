//! Table grants, and their IAM actions as named constants (aws-cdk-lib's `perms.ts` is the model: each list says
//! what it is for, and what it leaves out says why). A grant that reads or writes items also grants the table's
//! key through DynamoDB ([`crate::kms::Key::use_statement`]).
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html>

use synth::{Node, Scope, Val};

use super::Table;
use crate::iam::{Grant, Grantable, PolicyStatement, grant};
use crate::kms::{KeyUse, ViaService};

/// Reading items. `Scan` is included (an export reads a partition range), `PartiQLSelect` is not: the platform
/// does not use PartiQL, and granting it would open a second query language to audit.
pub const READ_DATA_ACTIONS: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
];

/// Writing items. No table-level actions (`UpdateTable`, `DeleteTable`): the table belongs to the stack.
pub const WRITE_DATA_ACTIONS: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];

/// Reading the table's stream (what a Lambda event source mapping does with the function's role).
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-eventsourcemapping.html>
pub const STREAM_READ_ACTIONS: &[&str] =
    &["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"];

/// The actions that return items (or stream records of items): DynamoDB decrypts them with the table's key.
pub const ITEM_READ_ACTIONS: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:GetRecords",
    "dynamodb:PartiQLSelect",
    "dynamodb:Query",
    "dynamodb:Scan",
];
/// The actions that write items: DynamoDB encrypts them with the table's key.
pub const ITEM_WRITE_ACTIONS: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];

/// Which items a tenant-scoped grant reaches: those whose partition key is `<prefix><tenant>` or starts with
/// `<prefix><tenant>#`, where the tenant is the value of a principal (session) tag.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html>
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantScope {
    /// Partition key prefix, e.g. `TENANT#`.
    pub prefix: String,
    /// The session tag carrying the tenant id, e.g. `tenant_id`.
    pub principal_tag: String,
}

impl TenantScope {
    /// The `dynamodb:LeadingKeys` patterns: the tenant's own partition, and its sharded partitions.
    pub fn leading_keys(&self) -> Node {
        let own = format!("{}${{aws:PrincipalTag/{}}}", self.prefix, self.principal_tag);
        Node::List(vec![Node::Str(own.clone()), Node::Str(format!("{own}#*"))])
    }
}

impl Table {
    /// Grants reading items (and, when the table has indexes, querying them: `<arn>/index/*`).
    pub fn grant_read_data(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        self.grant(grantee, scope, READ_DATA_ACTIONS)
    }

    /// Grants writing items.
    pub fn grant_write_data(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        self.grant(grantee, scope, WRITE_DATA_ACTIONS)
    }

    /// Grants reading and writing items.
    pub fn grant_read_write_data(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        let actions: Vec<&str> = READ_DATA_ACTIONS.iter().chain(WRITE_DATA_ACTIONS).copied().collect();
        self.grant(grantee, scope, &actions)
    }

    /// Grants exactly `actions` on the table (plus its indexes for reads when it has any, plus the key's actions
    /// when it is encrypted with a customer managed key).
    pub fn grant(&self, grantee: &dyn Grantable, scope: &mut Scope, actions: &[&str]) -> Grant {
        let mut resources = vec![self.arn()];
        if self.has_indexes() && actions.iter().any(|a| matches!(*a, "dynamodb:Query" | "dynamodb:Scan")) {
            resources.push(Val::join("", [self.arn(), Val::from("/index/*")]));
        }
        let mut statements = vec![PolicyStatement::allow(actions.iter().copied(), resources)];
        statements.extend(self.key_statement(actions));
        grant(grantee, scope, statements)
    }

    /// Grants `actions` on one index only (`<arn>/index/<name>`): a lookup that must not reach the base table.
    pub fn grant_index(&self, grantee: &dyn Grantable, scope: &mut Scope, index: &str, actions: &[&str]) -> Grant {
        let mut statements = vec![PolicyStatement::allow(actions.iter().copied(), [self.index_arn(index)])];
        statements.extend(self.key_statement(actions));
        grant(grantee, scope, statements)
    }

    /// Grants reading the stream (fails at synth if the table has none: the stream ARN attribute is absent).
    pub fn grant_stream_read(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        let mut statements = vec![PolicyStatement::allow(STREAM_READ_ACTIONS.iter().copied(), [self.stream_arn()])];
        statements.extend(self.key_statement(STREAM_READ_ACTIONS));
        grant(grantee, scope, statements)
    }

    /// Grants `actions` on the items of one tenant only: `dynamodb:LeadingKeys` must match `scope` for every key
    /// the request touches (`ForAllValues`), so a request for another tenant's partition is denied by IAM, whatever
    /// the code does. For roles assumed with a session tag per tenant.
    pub fn grant_tenant_scoped(
        &self,
        grantee: &dyn Grantable,
        scope: &mut Scope,
        actions: &[&str],
        tenant: &TenantScope,
    ) -> Grant {
        let mut resources = vec![self.arn()];
        if self.has_indexes() {
            resources.push(Val::join("", [self.arn(), Val::from("/index/*")]));
        }
        let data = PolicyStatement::allow(actions.iter().copied(), resources).with_condition(
            "ForAllValues:StringLike",
            "dynamodb:LeadingKeys",
            tenant.leading_keys(),
        );
        let mut statements = vec![data];
        statements.extend(self.key_statement(actions));
        grant(grantee, scope, statements)
    }

    /// The key statement a grant of `actions` needs: none when the table has no customer managed key or the
    /// actions touch no item.
    fn key_statement(&self, actions: &[&str]) -> Option<PolicyStatement> {
        let usage = KeyUse::of(actions, ITEM_READ_ACTIONS, ITEM_WRITE_ACTIONS)?;
        Some(self.encryption_key()?.use_statement(ViaService::DynamoDb, usage))
    }
}
