//! DL110 `multiple-tables-in-transaction`: one transaction takes write-blocking locks on two or
//! more existing tables. Each lock is held until the commit, so the tables queue up behind one
//! another, and the application, locking them in another order, can deadlock with the migration.

use std::collections::BTreeSet;

use super::{PG, Rule, RuleMeta};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct MultipleTablesInTransaction;

static META: RuleMeta = RuleMeta {
    id: "multiple-tables-in-transaction",
    code: "DL110",
    summary: "one transaction locks several existing tables: lock queues on all of them and deadlock risk",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &[],
    strong_migrations: "",
    atlas: "",
};

impl Rule for MultipleTablesInTransaction {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        if !cx.in_transaction() {
            return;
        }
        let before = &cx.state.locked_in_transaction;
        // Reported once per transaction: at the statement that locks the second table.
        if before.len() >= 2 {
            return;
        }
        let now = cx.stmt.locked_keys(cx.at_start);
        let added: Vec<&String> = now.iter().filter(|k| !before.contains(*k)).collect();
        let all: BTreeSet<&String> = before.iter().chain(added.iter().copied()).collect();
        let Some(first_new) = added.first() else { return };
        if all.len() < 2 {
            return;
        }
        let new_list = added.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
        let noun = if added.len() == 1 { "table" } else { "tables" };
        let message = if before.is_empty() {
            format!("one statement locks the existing tables {new_list} in the same transaction")
        } else {
            let held = before.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
            format!(
                "the transaction that already locked the existing table {held} also locks the existing {noun} {new_list}"
            )
        };
        out.push(
            Hit::new(
                cx.statement.span.clone(),
                message,
                "Every lock is held until the transaction commits: while the migration waits for or works on one \
                 table, the others stay locked, requests pile up on all of them, and application transactions \
                 that take the same tables in another order can deadlock with it. Change one table per migration",
            )
            .on_table((*first_new).clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const RULE: &str = "multiple-tables-in-transaction";
    const TABLES: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n\
                          CREATE TABLE ads (id bigint PRIMARY KEY, title text);\n\
                          CREATE TABLE tags (id bigint PRIMARY KEY);\nCREATE INDEX ads_title_idx ON ads (title);";

    #[test]
    fn flags_the_second_existing_table_once_per_transaction() {
        let sql = "ALTER TABLE users ADD COLUMN bio text;\nALTER TABLE users ADD COLUMN age int;\n\
                   DROP INDEX ads_title_idx;\nTRUNCATE tags;";
        let found = hits(RULE, &[TABLES, sql]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "the transaction that already locked the existing table users also locks the existing table ads"
        );
        assert_eq!(found[0].table.as_deref(), Some("ads"));
        let found = hits(RULE, &[TABLES, "TRUNCATE users, ads;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "one statement locks the existing tables users, ads in the same transaction"
        );
    }

    #[test]
    fn each_transaction_counts_on_its_own() {
        let sql = "-- no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN bio text;\nCOMMIT;\n\
                   BEGIN;\nALTER TABLE ads ADD COLUMN note text;\nCOMMIT;\nALTER TABLE tags ADD COLUMN x int;";
        assert!(hits(RULE, &[TABLES, sql]).is_empty());
    }

    #[test]
    fn accepts_one_table_new_tables_concurrent_indexes_and_validation() {
        for sql in [
            "ALTER TABLE users ADD COLUMN bio text;\nCREATE INDEX users_name_idx ON users (name);",
            "ALTER TABLE users ADD COLUMN bio text;\nCREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;",
            "ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0) NOT VALID;\nALTER TABLE ads VALIDATE CONSTRAINT x;",
        ] {
            assert!(hits(RULE, &[TABLES, sql]).is_empty(), "{sql}");
        }
    }
}
