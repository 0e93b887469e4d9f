//! DL108 `validate-in-same-transaction`: `VALIDATE CONSTRAINT` in the transaction that added the
//! constraint `NOT VALID` keeps the add's lock for the whole validation scan, which is what
//! `NOT VALID` was meant to avoid.

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::{Action, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct ValidateInSameTransaction;

static META: RuleMeta = RuleMeta {
    id: "validate-in-same-transaction",
    code: "DL108",
    summary: "VALIDATE CONSTRAINT in the transaction that added it NOT VALID holds the add's lock for the scan",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &[],
    strong_migrations: "add_foreign_key",
    atlas: "",
};

impl Rule for ValidateInSameTransaction {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::AlterTable { table, actions } = cx.stmt else { return };
        if !cx.in_transaction() || cx.existing(table).is_none() {
            return;
        }
        let t = table.key();
        for a in actions {
            let Action::ValidateConstraint { name, span } = a else { continue };
            if !cx.state.not_valid_in_transaction.contains(&format!("{t}.{name}")) {
                continue;
            }
            out.push(
                Hit::new(
                    span.clone(),
                    format!(
                        "constraint {name} of the existing table {t} is validated in the transaction that added it \
                         NOT VALID"
                    ),
                    "Locks last until the transaction ends: the ADD's lock (ACCESS EXCLUSIVE for a check, SHARE ROW \
                     EXCLUSIVE on both tables for a foreign key) is still held while VALIDATE scans every row, so \
                     NOT VALID gains nothing. Validate in a later migration, which runs in its own transaction",
                )
                .fix(format!("-- in a later migration:\nALTER TABLE {t} VALIDATE CONSTRAINT {name};"))
                .on_table(t.clone()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const RULE: &str = "validate-in-same-transaction";
    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, price integer);";
    const ADD: &str = "ALTER TABLE ads ADD CONSTRAINT ads_price_ok CHECK (price >= 0) NOT VALID;";
    const VALIDATE: &str = "ALTER TABLE ads VALIDATE CONSTRAINT ads_price_ok;";

    #[test]
    fn flags_validate_in_the_migrations_transaction() {
        let found = hits(RULE, &[ADS, &format!("{ADD}\n{VALIDATE}")]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "constraint ads_price_ok of the existing table ads is validated in the transaction that added it NOT VALID"
        );
        let found = hits(RULE, &[ADS, &format!("-- no-transaction\nBEGIN;\n{ADD}\n{VALIDATE}\nCOMMIT;")]);
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn accepts_a_later_migration_a_committed_transaction_and_no_transaction() {
        assert!(hits(RULE, &[ADS, ADD, VALIDATE]).is_empty());
        assert!(hits(RULE, &[ADS, &format!("-- no-transaction\nBEGIN;\n{ADD}\nCOMMIT;\n{VALIDATE}")]).is_empty());
        assert!(hits(RULE, &[ADS, &format!("-- no-transaction\n{ADD}\n{VALIDATE}")]).is_empty());
    }
}
