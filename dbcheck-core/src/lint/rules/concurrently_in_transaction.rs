//! DL102 `concurrently-in-transaction`: `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
//! `REINDEX CONCURRENTLY` (and, before PostgreSQL 12, `ALTER TYPE … ADD VALUE`) inside a
//! transaction: PostgreSQL refuses them there, so the migration fails at deploy.

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::Stmt;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct ConcurrentlyInTransaction;

static META: RuleMeta = RuleMeta {
    id: "concurrently-in-transaction",
    code: "DL102",
    summary: "a CONCURRENTLY operation (or ADD VALUE before PostgreSQL 12) inside a transaction fails at deploy",
    severity: Severity::Error,
    dialects: PG,
    default_on: true,
    lock_sensitive: false,
    squawk: &["ban-concurrent-index-creation-in-transaction"],
    strong_migrations: "",
    atlas: "PG103",
};

impl Rule for ConcurrentlyInTransaction {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        if !cx.in_transaction() {
            return;
        }
        let what = match cx.stmt {
            Stmt::CreateIndex { concurrently: true, .. } => "CREATE INDEX CONCURRENTLY".to_owned(),
            Stmt::DropIndex { concurrently: true, .. } => "DROP INDEX CONCURRENTLY".to_owned(),
            Stmt::Reindex { concurrently: true } => "REINDEX CONCURRENTLY".to_owned(),
            Stmt::AddEnumValue { name } if cx.pg_version() < 12 => {
                format!("ALTER TYPE {} ADD VALUE (on PostgreSQL {})", name.key(), cx.pg_version())
            }
            _ => return,
        };
        let text = cx.statement_text();
        let (where_, help, fix) = if cx.state.explicit_open {
            (
                "inside the transaction opened by BEGIN",
                "PostgreSQL refuses it in a transaction block, so the migration fails at deploy. Move it out of the \
                 BEGIN … COMMIT, into a migration of its own that does not run in a transaction"
                    .to_owned(),
                None,
            )
        } else if is_diesel(cx) {
            (
                "inside the transaction diesel runs the migration in",
                "PostgreSQL refuses it in a transaction block, so the migration fails at deploy. Put it in a migration \
                 of its own whose metadata.toml says `run_in_transaction = false`"
                    .to_owned(),
                Some(format!("-- metadata.toml beside up.sql: run_in_transaction = false\n{text};")),
            )
        } else {
            (
                "inside the transaction the migration runs in",
                "PostgreSQL refuses it in a transaction block, so the migration fails at deploy. Put it in a migration \
                 of its own whose first line is `-- no-transaction` (sqlx; diesel: `run_in_transaction = false` in \
                 metadata.toml)"
                    .to_owned(),
                Some(format!("-- no-transaction\n{text};")),
            )
        };
        let mut hit = Hit::new(cx.statement.span.clone(), format!("{what} runs {where_}"), help);
        if let Some(fix) = fix {
            hit = hit.fix(fix);
        }
        out.push(hit);
    }
}

/// Whether the migration is a diesel one (`<version>_<name>/up.sql` or `down.sql`).
fn is_diesel(cx: &Cx<'_>) -> bool {
    cx.path.file_name().is_some_and(|f| f == "up.sql" || f == "down.sql")
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, lint_with};
    use crate::lint::{LintConfig, LintOptions};

    const RULE: &str = "concurrently-in-transaction";
    const TABLE: &str =
        "CREATE TABLE ads (id bigint PRIMARY KEY, slug text);\nCREATE INDEX ads_slug_idx ON ads (slug);";

    #[test]
    fn flags_concurrent_operations_in_the_tools_transaction() {
        for sql in [
            "CREATE INDEX CONCURRENTLY ads_id_slug_idx ON ads (id, slug);",
            "DROP INDEX CONCURRENTLY ads_slug_idx;",
            "REINDEX INDEX CONCURRENTLY ads_slug_idx;",
        ] {
            let found = hits(RULE, &[TABLE, sql]);
            assert_eq!(found.len(), 1, "{sql}");
            assert!(found[0].finding.message.contains("CONCURRENTLY runs inside the transaction"), "{sql}");
            let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
            assert!(fix.starts_with("-- no-transaction\n"), "{fix}");
        }
    }

    #[test]
    fn flags_an_explicit_begin_even_when_the_tool_does_not_wrap() {
        let found =
            hits(RULE, &[TABLE, "-- no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON ads (id, slug);\nCOMMIT;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.contains("opened by BEGIN"), "{}", found[0].finding.message);
        assert!(found[0].finding.fix_sql.is_none());
    }

    #[test]
    fn accepts_no_transaction_migrations_and_plain_statements() {
        assert!(hits(RULE, &[TABLE, "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON ads (id, slug);"]).is_empty());
        assert!(hits(RULE, &[TABLE, "-- no-transaction\nDROP INDEX CONCURRENTLY ads_slug_idx;"]).is_empty());
        assert!(hits(RULE, &[TABLE, "CREATE INDEX i ON ads (id, slug);"]).is_empty());
        // After COMMIT the explicit transaction is over.
        assert!(
            hits(RULE, &[TABLE, "-- no-transaction\nBEGIN;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON ads (id);"])
                .is_empty()
        );
    }

    #[test]
    fn add_value_fails_in_a_transaction_only_before_postgres_12() {
        let sqls = ["CREATE TYPE mood AS ENUM ('ok');", "ALTER TYPE mood ADD VALUE 'sad';"];
        let on = |v| {
            let options = LintOptions {
                config: LintConfig { postgres_version: Some(v), ..LintConfig::default() },
                ..LintOptions::default()
            };
            lint_with(Dialect::Postgres, &sqls, &options).into_iter().filter(|f| f.rule == RULE).count()
        };
        assert_eq!(on(11), 1);
        assert_eq!(on(12), 0);
    }
}
