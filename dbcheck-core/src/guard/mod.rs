//! `#[schema_guard]`: Rust structs checked against the schema the migrations produce. The parsed
//! model (`model`) is shared by the proc macro (`dbcheck-macros`, a thin shim) and the CLI's
//! source scanner (`scan`); `types` holds Rust ↔ SQL type compatibility per dialect, `check` the
//! comparison and its messages, `load` the schema a crate's configuration points at.

mod check;
mod declare;
mod load;
mod model;
mod scan;
mod types;

pub use check::{Mismatch, MismatchKind, check};
pub use declare::{declared_schema, sql_type_for};
pub use load::{GuardSchema, MANIFEST_DIR_ENV, SchemaSource, fingerprint, load_schema};
pub use model::{COLUMN_ATTRIBUTE, GuardOptions, GuardedField, GuardedStruct, parse_dialect, strip_helper_attributes};
pub use scan::{ScannedStruct, code_refs, findings, non_null_refs, scan_sources};
pub use types::{FieldType, RustKind, compatible, field_type, rust_kind, type_text};

use std::path::PathBuf;

/// Failures loading what a guard is checked against.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The dbcheck configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The migrations cannot be read.
    #[error(transparent)]
    Discovery(#[from] crate::migrations::DiscoveryError),
    /// A source file or folder cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
