//! DL405 `ban-char`: `char(n)` / `character(n)` / `bpchar` columns in PostgreSQL pad values with
//! blanks and are no faster than `text`.

use super::columns::{Ty, retype_hit, text_with_length, typed_columns};
use super::{PG, Rule, RuleMeta};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct BanChar;

static META: RuleMeta = RuleMeta {
    id: "ban-char",
    code: "DL405",
    summary: "char(n)/character(n): blank-padded; prefer text (with a length check)",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: false,
    squawk: &["ban-char-field"],
    strong_migrations: "",
    atlas: "",
};

impl Rule for BanChar {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        for c in typed_columns(cx) {
            let ty = Ty::parse(cx.dialect, c.type_text);
            if ty.name != "char" || ty.array {
                continue;
            }
            let n = ty.args.first().copied().unwrap_or(1);
            out.push(retype_hit(
                cx,
                &c,
                format!("column {} of {} is {}: prefer text", c.column, c.table.key(), c.type_text.trim()),
                format!(
                    "char({n}) pads every shorter value with blanks, ignores trailing blanks in comparisons but not in \
                     LIKE or in the application, and is stored no more compactly than text. Use text with a CHECK on \
                     the length"
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
    fn flags_char_columns() {
        let found = hits("ban-char", &["CREATE TABLE t (country char(2) NOT NULL, flag character, code bpchar(4));"]);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].finding.message, "column country of t is char(2): prefer text");
        assert_eq!(
            found[0].finding.fix_sql.as_deref(),
            Some("-- in CREATE TABLE t:\ncountry text CHECK (char_length(country) <= 2) NOT NULL")
        );
    }

    #[test]
    fn accepts_varchar_text_and_the_internal_char_type() {
        assert!(hits("ban-char", &["CREATE TABLE t (a character varying(2), b text, c \"char\");"]).is_empty());
    }
}
