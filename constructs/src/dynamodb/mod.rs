//! Amazon DynamoDB: the generated CloudFormation types and [`Table`], the system-of-record construct: point-in-time
//! recovery on, a customer managed key, retained on delete and replace, on-demand by default (provisioned with auto
//! scaling as an option), and global-table replicas through `AWS::DynamoDB::GlobalTable` when asked for.

mod generated;
mod grants;
pub(crate) mod rules;
mod table;

pub use generated::*;
pub use grants::{
    ITEM_READ_ACTIONS, ITEM_WRITE_ACTIONS, READ_DATA_ACTIONS, STREAM_READ_ACTIONS, TenantScope, WRITE_DATA_ACTIONS,
};
pub use table::{
    Attribute, AttributeKind, Billing, Capacity, GlobalSecondaryIndex, Projection, Replica, StreamView, Table,
    TableProps,
};
