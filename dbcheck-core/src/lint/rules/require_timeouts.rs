//! DL111 `require-timeouts`: a migration locks an existing table without setting a lock timeout
//! first, so the statement can wait indefinitely for its lock while every query on the table
//! queues behind it.

use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::Stmt;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct RequireTimeouts;

static META: RuleMeta = RuleMeta {
    id: "require-timeouts",
    code: "DL111",
    summary: "a migration locks an existing table without SET lock_timeout first",
    severity: Severity::Warning,
    dialects: &[Dialect::Postgres, Dialect::Mysql],
    default_on: true,
    lock_sensitive: false,
    squawk: &["require-timeout-settings"],
    strong_migrations: "",
    atlas: "",
};

/// What the statement is, in SQL words.
fn verb(stmt: &Stmt) -> &'static str {
    match stmt {
        Stmt::AlterTable { .. } => "ALTER TABLE",
        Stmt::CreateIndex { .. } => "CREATE INDEX",
        Stmt::DropIndex { .. } => "DROP INDEX",
        Stmt::DropTable { .. } => "DROP TABLE",
        Stmt::Truncate { .. } => "TRUNCATE",
        Stmt::RenameTable { .. } => "RENAME TABLE",
        _ => "the statement",
    }
}

impl Rule for RequireTimeouts {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        // Once per migration: at its first lock on an existing table, when no timeout is set yet.
        if cx.state.lock_timeout || !cx.state.locked_tables.is_empty() {
            return;
        }
        let locked = cx.stmt.locked_keys(cx.at_start);
        let Some(first) = locked.first() else { return };
        let (setting, help, fix) = if cx.dialect == Dialect::Mysql {
            (
                "lock_wait_timeout",
                "MySQL's lock_wait_timeout defaults to a year: the ALTER waits for its metadata lock behind any open \
                 transaction on the table, and every query on the table queues behind it meanwhile. Set a short one \
                 first, so the migration fails fast and can be retried; max_execution_time does not cover DDL"
                    .to_owned(),
                "SET SESSION lock_wait_timeout = 5;".to_owned(),
            )
        } else {
            let local = if cx.in_transaction() { "LOCAL " } else { "" };
            (
                "lock_timeout",
                format!(
                    "Without lock_timeout the statement waits as long as it takes for its lock — behind a long query \
                     or an idle transaction — and every query on the table queues behind it meanwhile. Set a short \
                     one first, so the migration fails fast and can be retried{}; a statement_timeout also bounds \
                     how long the lock is held once granted",
                    if local.is_empty() { "" } else { " (SET LOCAL lasts until the migration's transaction ends)" }
                ),
                format!("SET {local}lock_timeout = '5s';\nSET {local}statement_timeout = '15min';"),
            )
        };
        let more = if locked.len() > 1 { format!(" (and {} more)", locked.len() - 1) } else { String::new() };
        out.push(
            Hit::new(
                cx.statement.span.clone(),
                format!(
                    "{} locks the existing table {first}{more} without a {setting} set earlier in the migration",
                    verb(cx.stmt)
                ),
                help,
            )
            .fix(fix),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};

    const RULE: &str = "require-timeouts";
    const ADS: &str =
        "CREATE TABLE ads (id bigint PRIMARY KEY, title text);\nCREATE INDEX ads_title_idx ON ads (title);";

    #[test]
    fn flags_the_first_lock_of_a_migration_once() {
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ADD COLUMN a int;\nALTER TABLE ads ADD COLUMN b int;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "ALTER TABLE locks the existing table ads without a lock_timeout set earlier in the migration"
        );
        assert_eq!(
            found[0].finding.fix_sql.as_deref(),
            Some("SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '15min';")
        );
        let found = hits(RULE, &[ADS, "-- no-transaction\nDROP INDEX ads_title_idx;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.starts_with("DROP INDEX locks the existing table ads"));
        assert!(found[0].finding.fix_sql.as_deref().unwrap_or("").starts_with("SET lock_timeout"));
        let found = hits_on(Dialect::Mysql, RULE, &[ADS, "ALTER TABLE ads ADD COLUMN a int;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.contains("without a lock_wait_timeout"));
    }

    #[test]
    fn accepts_a_timeout_set_first_and_migrations_that_lock_nothing_existing() {
        for sql in [
            "SET lock_timeout = '2s';\nALTER TABLE ads ADD COLUMN a int;",
            "SET LOCAL lock_timeout TO '2s';\nTRUNCATE ads;",
            "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;\nCREATE INDEX t_a_idx ON t (a);",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY ads_id_idx ON ads (id);",
            "ALTER TABLE ads VALIDATE CONSTRAINT c;",
        ] {
            assert!(hits(RULE, &[ADS, sql]).is_empty(), "{sql}");
        }
        assert!(
            hits_on(Dialect::Mysql, RULE, &[ADS, "SET SESSION lock_wait_timeout = 5;\nALTER TABLE ads ADD a int;"])
                .is_empty()
        );
    }
}
