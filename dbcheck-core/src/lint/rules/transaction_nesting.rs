//! DL406 `transaction-nesting`: `BEGIN`/`COMMIT`/`ROLLBACK` inside a migration that its tool
//! already runs in a transaction.

use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::Stmt;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct TransactionNesting;

static META: RuleMeta = RuleMeta {
    id: "transaction-nesting",
    code: "DL406",
    summary: "BEGIN/COMMIT inside a migration its tool already runs in a transaction",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &["transaction-nesting"],
    strong_migrations: "",
    atlas: "",
};

impl Rule for TransactionNesting {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        if !cx.state.tool_wraps {
            return;
        }
        let help = "the migration tool opens a transaction around the file and commits it after recording the \
                    migration. Remove the statement; if the migration must control its own transactions, opt out of the \
                    tool's (sqlx: `-- no-transaction` on the first line; diesel: `run_in_transaction = false` in \
                    metadata.toml)";
        let (message, severity) = match cx.stmt {
            Stmt::Begin if cx.dialect == Dialect::Sqlite => (
                "BEGIN inside the transaction the migration tool opened: SQLite refuses to nest transactions and the \
                 migration fails"
                    .to_owned(),
                Some(Severity::Error),
            ),
            Stmt::Begin => (
                "BEGIN inside the transaction the migration tool opened: it does nothing but warn, and a later COMMIT \
                 ends the tool's transaction early"
                    .to_owned(),
                None,
            ),
            Stmt::Commit => (
                "COMMIT ends the transaction the migration tool opened: the statements after it run without one, and a \
                 failure leaves the migration half-applied"
                    .to_owned(),
                None,
            ),
            Stmt::Rollback => (
                "ROLLBACK ends the transaction the migration tool opened and undoes the statements before it".to_owned(),
                None,
            ),
            _ => return,
        };
        let mut hit = Hit::new(cx.statement.span.clone(), message, help);
        if let Some(s) = severity {
            hit = hit.severity(s);
        }
        out.push(hit);
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};
    use crate::report::Severity;

    #[test]
    fn flags_begin_and_commit_in_a_wrapped_migration() {
        let found = hits("transaction-nesting", &["BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;"]);
        assert_eq!(found.len(), 2);
        assert!(found[1].finding.message.starts_with("COMMIT ends the transaction"));
        let found = hits_on(Dialect::Sqlite, "transaction-nesting", &["START TRANSACTION;\nCREATE TABLE t (a int);"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.severity, Severity::Error);
    }

    #[test]
    fn accepts_explicit_transactions_when_the_tool_does_not_wrap() {
        assert!(
            hits("transaction-nesting", &["-- no-transaction\nBEGIN;\nCREATE TABLE t (a int);\nCOMMIT;"]).is_empty()
        );
        assert!(
            hits_on(Dialect::Mysql, "transaction-nesting", &["START TRANSACTION;\nCREATE TABLE t (a int);\nCOMMIT;"])
                .is_empty()
        );
    }
}
