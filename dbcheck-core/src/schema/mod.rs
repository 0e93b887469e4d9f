//! The normalized schema model every source reduces to: introspection, replay and (later) static
//! interpretation and declared schemas. Ordering is deterministic (maps keyed by name, columns in
//! table order) so two equal schemas serialize identically.

mod model;
mod types;

pub use model::{
    CheckConstraint, Column, EnumType, FkAction, ForeignKey, Function, Generated, Identity, Index, PrimaryKey, Schema,
    Sequence, Table, Trigger, UniqueConstraint, View, definition_hash, qualified_name,
};
pub use types::{normalize_default, normalize_expression, normalize_type};
