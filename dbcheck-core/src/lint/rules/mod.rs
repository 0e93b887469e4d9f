//! The lint rules, one module each. A rule looks at one statement in its context ([`Cx`]) and
//! reports [`Hit`]s; the engine turns them into findings with the rule's id as the finding code.
//! Every rule has a docs page `docs/lint/<id>.md` and ok/err tests beside it.

use crate::db::Dialect;
use crate::report::Severity;

use super::{Cx, Hit};

/// What a rule is: its stable id and short code, default severity, where it applies and its
/// equivalents in other linters (for the mapping table in docs/lint.md).
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable kebab-case id, also the finding code.
    pub id: &'static str,
    /// Short code (`DL101`).
    pub code: &'static str,
    /// One line: what it catches.
    pub summary: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Dialects it applies to; empty: all.
    pub dialects: &'static [Dialect],
    /// Runs unless disabled (otherwise only when enabled in `[lint]`).
    pub default_on: bool,
    /// Its harm grows with the table's size: data-aware severity applies.
    pub lock_sensitive: bool,
    /// squawk's rule names for the same concept (its ignore comments are honoured under them).
    pub squawk: &'static [&'static str],
    /// strong_migrations' check, or "".
    pub strong_migrations: &'static str,
    /// Atlas's analyzer code, or "".
    pub atlas: &'static str,
}

impl RuleMeta {
    /// Whether the rule applies to `dialect`.
    pub fn applies_to(&self, dialect: Dialect) -> bool {
        self.dialects.is_empty() || self.dialects.contains(&dialect)
    }
}

/// A lint rule.
pub trait Rule: Sync + std::fmt::Debug {
    /// What the rule is.
    fn meta(&self) -> &'static RuleMeta;
    /// Report what is wrong with `cx.stmt`.
    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>);
}

/// PostgreSQL only.
pub(crate) const PG: &[Dialect] = &[Dialect::Postgres];

/// Every rule, in code order.
pub fn all_rules() -> &'static [&'static dyn Rule] {
    &[
        // Locking and rewrites (DL1xx).
        &require_concurrent_index::RequireConcurrentIndex,
        &concurrently_in_transaction::ConcurrentlyInTransaction,
        &require_concurrent_index_drop::RequireConcurrentIndexDrop,
        &column_type_rewrite::ColumnTypeRewrite,
        &volatile_default::VolatileDefault,
        &set_not_null_without_check::SetNotNullWithoutCheck,
        &constraint_missing_not_valid::ConstraintMissingNotValid,
        &validate_in_same_transaction::ValidateInSameTransaction,
        &unique_without_index::UniqueWithoutIndex,
        &multiple_tables_in_transaction::MultipleTablesInTransaction,
        &require_timeouts::RequireTimeouts,
        // -- end of DL1xx
        // Destructive and backward-incompatible (DL2xx).
        &drop_table::DropTable,
        &drop_column::DropColumn,
        &drop_schema_or_database::DropSchemaOrDatabase,
        &truncate::Truncate,
        &rename_column::RenameColumn,
        &rename_table::RenameTable,
        &add_not_null_without_default::AddNotNullWithoutDefault,
        &narrowing_type::NarrowingType,
        &drop_default::DropDefault,
        &enum_value_removal::EnumValueRemoval,
        // -- end of DL2xx
        // Data-dependent (DL3xx).
        &constraint_on_existing_data::ConstraintOnExistingData,
        // -- end of DL3xx
        // Types and hygiene (DL4xx).
        &prefer_bigint_keys::PreferBigintKeys,
        &prefer_identity::PreferIdentity,
        &prefer_text::PreferText,
        &prefer_timestamptz::PreferTimestamptz,
        &ban_char::BanChar,
        &transaction_nesting::TransactionNesting,
        &down_drops_data::DownDropsData,
        // -- end of DL4xx
        // History- and code-aware (DL5xx).
        &contract_with_expand::ContractWithExpand,
        &code_uses_dropped::CodeUsesDropped,
        // -- end of DL5xx
    ]
}

/// The rule with id or short code `name`.
pub fn find_rule(name: &str) -> Option<&'static dyn Rule> {
    all_rules().iter().copied().find(|r| r.meta().id == name || r.meta().code.eq_ignore_ascii_case(name))
}

// DL1xx modules
mod column_type_rewrite;
mod concurrently_in_transaction;
mod constraint_missing_not_valid;
mod multiple_tables_in_transaction;
mod require_concurrent_index;
mod require_concurrent_index_drop;
mod require_timeouts;
mod set_not_null_without_check;
mod unique_without_index;
mod validate_in_same_transaction;
mod volatile_default;
// DL2xx–DL4xx modules
mod add_not_null_without_default;
mod ban_char;
mod columns;
mod constraint_on_existing_data;
mod down_drops_data;
mod drop_column;
mod drop_default;
mod drop_schema_or_database;
mod drop_table;
mod enum_value_removal;
mod narrowing_type;
mod prefer_bigint_keys;
mod prefer_identity;
mod prefer_text;
mod prefer_timestamptz;
mod rename_column;
mod rename_table;
mod transaction_nesting;
mod truncate;
// DL5xx modules
mod code_uses_dropped;
mod contract_with_expand;

/// The rules table of `docs/lint.md`, generated from the rules' metadata.
pub fn docs_table() -> String {
    let or_dash = |s: &str| if s.is_empty() { "—".to_owned() } else { format!("`{s}`") };
    let mut out = String::from(
        "| rule | code | dialects | default | squawk | strong_migrations | Atlas |\n|---|---|---|---|---|---|---|\n",
    );
    for r in all_rules() {
        let m = r.meta();
        let dialects = if m.dialects.is_empty() {
            "all".to_owned()
        } else {
            m.dialects.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        };
        let squawk = if m.squawk.is_empty() {
            "—".to_owned()
        } else {
            m.squawk.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
        };
        let default = if m.default_on { m.severity.to_string() } else { format!("off ({})", m.severity) };
        out.push_str(&format!(
            "| [`{}`](lint/{}.md) — {} | {} | {dialects} | {default} | {squawk} | {} | {} |\n",
            m.id,
            m.id,
            m.summary,
            m.code,
            or_dash(m.strong_migrations),
            or_dash(m.atlas)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_docs_table_lists_every_rule() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/lint.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let marker = "<!-- rules-table: kept in sync by the test `lint_docs_table_lists_every_rule` -->\n";
        let at = text.find(marker).expect("docs/lint.md lost its rules-table marker") + marker.len();
        let want = format!("{}\n{}", &text[..at], docs_table());
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, &want).unwrap();
        } else {
            assert_eq!(text, want, "docs/lint.md's rules table is stale: run with UPDATE_EXPECT=1");
        }
    }

    #[test]
    fn ids_and_codes_are_unique_and_documented() {
        let mut ids = std::collections::BTreeSet::new();
        let mut codes = std::collections::BTreeSet::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/lint");
        for r in all_rules() {
            let m = r.meta();
            assert!(ids.insert(m.id), "duplicate id {}", m.id);
            assert!(codes.insert(m.code), "duplicate code {}", m.code);
            assert!(m.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{} is not kebab-case", m.id);
            assert!(root.join(format!("{}.md", m.id)).is_file(), "docs/lint/{}.md is missing", m.id);
        }
    }
}
