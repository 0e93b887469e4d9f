//! DL403 `prefer-text`: `varchar(n)` columns in PostgreSQL, where `text` with a `CHECK` on the
//! length stores the same and can change its limit without an exclusive lock.

use super::columns::{Ty, retype_hit, text_with_length, typed_columns};
use super::{PG, Rule, RuleMeta};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct PreferText;

static META: RuleMeta = RuleMeta {
    id: "prefer-text",
    code: "DL403",
    summary: "varchar(n): prefer text with a CHECK on its length",
    severity: Severity::Info,
    dialects: PG,
    default_on: true,
    lock_sensitive: false,
    squawk: &["prefer-text-field"],
    strong_migrations: "",
    atlas: "",
};

impl Rule for PreferText {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        for c in typed_columns(cx) {
            let ty = Ty::parse(cx.dialect, c.type_text);
            let (true, Some(n), false) = (ty.name == "varchar", ty.args.first(), ty.array) else { continue };
            out.push(retype_hit(
                cx,
                &c,
                format!(
                    "column {} of {} is {}: prefer text with a length check",
                    c.column,
                    c.table.key(),
                    c.type_text.trim()
                ),
                format!(
                    "in PostgreSQL varchar({n}) stores exactly like text; the limit only adds a check that cannot be \
                     changed without ALTER COLUMN TYPE and its ACCESS EXCLUSIVE lock. A CHECK (char_length(…) <= {n}) \
                     can be replaced later with a NOT VALID constraint and a VALIDATE that does not block writes"
                ),
                &text_with_length(cx, &c, n),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    #[test]
    fn flags_bounded_varchar() {
        let found = hits("prefer-text", &["CREATE TABLE t (slug varchar(80) NOT NULL, name character varying(20));"]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].finding.message, "column slug of t is varchar(80): prefer text with a length check");
        assert_eq!(
            found[0].finding.fix_sql.as_deref(),
            Some("-- in CREATE TABLE t:\nslug text CHECK (char_length(slug) <= 80) NOT NULL")
        );
        assert_eq!(
            hits("prefer-text", &["CREATE TABLE t (a text);", "ALTER TABLE t ALTER COLUMN a TYPE varchar(10);"]).len(),
            1
        );
    }

    #[test]
    fn accepts_text_and_unbounded_varchar() {
        assert!(hits("prefer-text", &["CREATE TABLE t (a text, b varchar, c varchar(3)[]);"]).is_empty());
    }
}
