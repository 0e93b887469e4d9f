//! DL501 `contract-with-expand`: a migration that adds a column, copies an old column into it and
//! drops (or renames away) the old one ships the contract step of expand/contract together with
//! its expand — the application version still running during the deploy breaks at once.

use super::{Rule, RuleMeta};
use crate::lint::ast::{Action, Stmt};
use crate::lint::context::same;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct ContractWithExpand;

static META: RuleMeta = RuleMeta {
    id: "contract-with-expand",
    code: "DL501",
    summary: "the contract step of an expand/contract change ships in the same migration as its expand",
    severity: Severity::Error,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &[],
    strong_migrations: "",
    atlas: "",
};

impl Rule for ContractWithExpand {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::AlterTable { table, actions } = cx.stmt else { return };
        let key = table.key();
        for action in actions {
            let Action::DropColumn { column, span } = action else { continue };
            let Some((_, new_col, _)) =
                cx.state.copies.iter().find(|(t, _, old)| same(cx.dialect, t, &key) && same(cx.dialect, old, column))
            else {
                continue;
            };
            out.push(
                Hit::new(
                    span.clone(),
                    format!(
                        "column {column} of {key} is dropped in the same migration that copied it into {new_col}"
                    ),
                    "expand/contract only protects a deploy when the steps ship separately: while this migration \
                     runs and until every instance runs the new code, the old code still reads and writes the \
                     dropped column. Ship the expand (add + backfill + dual writes) now, switch the code, and drop \
                     the old column in a later migration",
                )
                .fix(format!("-- in a later migration, once no deployed code uses {column}:\nALTER TABLE {key} DROP COLUMN {column};")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const TABLE: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name text);";

    #[test]
    fn flags_the_contract_in_the_expand_migration() {
        let found = hits(
            "contract-with-expand",
            &[
                TABLE,
                "ALTER TABLE users ADD COLUMN full_name text;\nUPDATE users SET full_name = name;\nALTER TABLE users DROP COLUMN name;",
            ],
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.contains("copied it into full_name"), "{}", found[0].finding.message);
    }

    #[test]
    fn accepts_the_contract_in_a_later_migration_and_unrelated_drops() {
        assert!(
            hits(
                "contract-with-expand",
                &[
                    TABLE,
                    "ALTER TABLE users ADD COLUMN full_name text;\nUPDATE users SET full_name = name;",
                    "ALTER TABLE users DROP COLUMN name;",
                ]
            )
            .is_empty()
        );
        assert!(
            hits(
                "contract-with-expand",
                &[TABLE, "ALTER TABLE users ADD COLUMN n text;\nUPDATE users SET n = 'x';\nALTER TABLE users DROP COLUMN name;"]
            )
            .is_empty()
        );
    }
}
