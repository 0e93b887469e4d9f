//! DL106 `set-not-null-without-check`: `ALTER COLUMN c SET NOT NULL` on a table that already
//! exists scans the whole table under an `ACCESS EXCLUSIVE` lock, unless a validated
//! `CHECK (c IS NOT NULL)` already proves it (PostgreSQL 12 and later).

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::Action;
use crate::lint::{Cx, Hit};
use crate::report::Severity;
use crate::schema::Table;

/// See the module docs.
#[derive(Debug)]
pub struct SetNotNullWithoutCheck;

static META: RuleMeta = RuleMeta {
    id: "set-not-null-without-check",
    code: "DL106",
    summary: "SET NOT NULL on an existing table scans it under an ACCESS EXCLUSIVE lock without a validated check",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &["adding-not-nullable-field"],
    strong_migrations: "change_column_null",
    atlas: "",
};

/// Whether `table` has a validated check that proves `column IS NOT NULL` (alone or as one of
/// the `AND`ed conditions).
fn proven(table: &Table, column: &str) -> bool {
    let want = format!("{} is not null", column.to_ascii_lowercase());
    table.checks.values().filter(|c| c.valid).any(|c| {
        let e: String = c.expression.to_ascii_lowercase().chars().filter(|ch| !matches!(ch, '(' | ')' | '"')).collect();
        let e = e.split_whitespace().collect::<Vec<_>>().join(" ");
        e.split(" and ").any(|part| part.trim() == want)
    })
}

impl Rule for SetNotNullWithoutCheck {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Some((table, actions)) = cx.alter_existing() else { return };
        let Some(now) = cx.table(table) else { return };
        let t = table.key();
        for a in actions {
            let Action::SetNotNull { column, span } = a else { continue };
            // Already NOT NULL: a no-op. Unknown column: say nothing.
            if !cx.column(table, column).is_some_and(|c| c.nullable) {
                continue;
            }
            let old_pg = cx.pg_version() < 12;
            if !old_pg && proven(now, column) {
                continue;
            }
            let check = format!("{}_{column}_not_null", table.name);
            let (message, help) = if old_pg {
                (
                    format!(
                        "column {column} of the existing table {t} is made NOT NULL, which scans the table under an \
                         ACCESS EXCLUSIVE lock (PostgreSQL {} cannot use a check constraint to skip the scan)",
                        cx.pg_version()
                    ),
                    "Before PostgreSQL 12 SET NOT NULL always reads every row while the table is locked for reads \
                     and writes. Until you upgrade, enforce it with CHECK (column IS NOT NULL) added NOT VALID and \
                     validated in a later migration, instead of NOT NULL"
                        .to_owned(),
                )
            } else {
                (
                    format!(
                        "column {column} of the existing table {t} is made NOT NULL without a validated CHECK \
                         ({column} IS NOT NULL), which scans the table under an ACCESS EXCLUSIVE lock"
                    ),
                    "SET NOT NULL reads every row to prove there is no NULL while no one can read or write the \
                     table. Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it in a later migration (that scan \
                     lets reads and writes through), then SET NOT NULL, which uses the check and skips the scan, and \
                     drop the check"
                        .to_owned(),
                )
            };
            let mut hit = Hit::new(span.clone(), message, help).on_table(t.clone());
            if !old_pg {
                hit = hit.fix(format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID;\n\
                     -- in a later migration:\n\
                     ALTER TABLE {t} VALIDATE CONSTRAINT {check};\n\
                     ALTER TABLE {t} ALTER COLUMN {column} SET NOT NULL;\n\
                     ALTER TABLE {t} DROP CONSTRAINT {check};"
                ));
            }
            out.push(hit);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, lint_with};
    use crate::lint::{LintConfig, LintOptions};

    const RULE: &str = "set-not-null-without-check";
    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, slug text, title text NOT NULL);";

    #[test]
    fn flags_set_not_null_on_an_existing_table_without_a_check() {
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.starts_with("column slug of the existing table ads is made NOT NULL without"));
        let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
        assert!(
            fix.starts_with("ALTER TABLE ads ADD CONSTRAINT ads_slug_not_null CHECK (slug IS NOT NULL) NOT VALID;")
        );
        assert!(fix.contains("\nALTER TABLE ads VALIDATE CONSTRAINT ads_slug_not_null;\n"), "{fix}");
    }

    #[test]
    fn a_check_that_is_not_validated_yet_does_not_count() {
        let found = hits(
            RULE,
            &[
                ADS,
                "ALTER TABLE ads ADD CONSTRAINT c CHECK (slug IS NOT NULL) NOT VALID;\n\
                 ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;",
            ],
        );
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn accepts_a_validated_check_a_not_null_column_and_new_tables() {
        let check = "ALTER TABLE ads ADD CONSTRAINT ads_slug_nn CHECK (slug IS NOT NULL AND slug <> '') NOT VALID;";
        let validate = "ALTER TABLE ads VALIDATE CONSTRAINT ads_slug_nn;";
        let set = "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;";
        assert!(hits(RULE, &[ADS, check, &format!("{validate}\n{set}")]).is_empty());
        assert!(hits(RULE, &[ADS, check, validate, set]).is_empty());
        assert!(hits(RULE, &[ADS, "ALTER TABLE ads ALTER COLUMN title SET NOT NULL;"]).is_empty());
        assert!(hits(RULE, &["CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;"]).is_empty());
    }

    #[test]
    fn before_postgres_12_the_check_does_not_help() {
        let options = LintOptions {
            config: LintConfig { postgres_version: Some(11), ..LintConfig::default() },
            ..LintOptions::default()
        };
        let sqls = [
            ADS,
            "ALTER TABLE ads ADD CONSTRAINT c CHECK (slug IS NOT NULL) NOT VALID;",
            "ALTER TABLE ads VALIDATE CONSTRAINT c;",
            "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;",
        ];
        let found: Vec<_> =
            lint_with(Dialect::Postgres, &sqls, &options).into_iter().filter(|f| f.rule == RULE).collect();
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.contains("PostgreSQL 11 cannot use a check"));
        assert!(found[0].finding.fix_sql.is_none());
    }
}
