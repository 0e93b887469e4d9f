//! DL208 `narrowing-type`: a column type change that can reject or truncate values the column
//! already holds (a smaller integer, a shorter string, fewer digits, a date instead of a
//! timestamp, `char(n)`).

use super::columns::Ty;
use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::{Action, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct NarrowingType;

static META: RuleMeta = RuleMeta {
    id: "narrowing-type",
    code: "DL208",
    summary: "a type change that can reject or truncate existing values",
    severity: Severity::Warning,
    dialects: &[Dialect::Postgres, Dialect::Mysql],
    default_on: true,
    lock_sensitive: false,
    squawk: &[],
    strong_migrations: "change_column",
    atlas: "",
};

impl Rule for NarrowingType {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::AlterTable { table, actions } = cx.stmt else { return };
        for a in actions {
            let Action::AlterType { column, new_type, span, .. } = a else { continue };
            if cx.existing_column(table, column).is_none() {
                continue;
            }
            let Some(old) = cx.column(table, column) else { continue };
            let (from, to) = (Ty::parse(cx.dialect, &old.data_type), Ty::parse(cx.dialect, new_type));
            let Some(effect) = narrowing(cx.dialect, &from, &to) else { continue };
            let lossy = if cx.dialect == Dialect::Mysql {
                "the change fails on the first existing value that does not fit (outside strict mode MySQL silently \
                 truncates it instead)"
            } else {
                "the change fails on the first existing value that does not fit, after holding an ACCESS EXCLUSIVE \
                 lock while it got there"
            };
            out.push(Hit::new(
                span.clone(),
                format!(
                    "column {column} of the existing table {} is changed from {} to {}: {effect}",
                    table.key(),
                    old.data_type,
                    new_type.trim()
                ),
                format!(
                    "{lossy}. Count the values that do not fit first (`cargo dbcheck migrate deploy --dry-run` runs that \
                     pre-flight against the target database), fix them in an earlier migration, or keep the wider type \
                     and enforce the limit with a CHECK constraint added NOT VALID"
                ),
            ));
        }
    }
}

/// Capacity in characters of a string type, `None` for unbounded or non-string types.
fn string_capacity(t: &Ty) -> Option<Option<u64>> {
    match t.name.as_str() {
        "text" if t.args.is_empty() => Some(None),
        "varchar" | "char" | "nvarchar" | "nchar" => {
            Some(t.args.first().copied().or(if t.name == "char" { Some(1) } else { None }))
        }
        "tinytext" => Some(Some(255)),
        "mediumtext" => Some(Some(16_777_215)),
        "longtext" => Some(None),
        _ => None,
    }
}

/// What converting a value of `from` into `to` can do to it, when it can lose or reject values.
fn narrowing(dialect: Dialect, from: &Ty, to: &Ty) -> Option<String> {
    if from == to || from.array != to.array {
        return None;
    }
    let fractional = |t: &Ty| matches!(t.name.as_str(), "numeric" | "real" | "double precision");
    // MySQL's TEXT holds 65535 bytes; PostgreSQL's is unbounded.
    let text_cap = |t: &Ty| {
        if dialect == Dialect::Mysql && t.name == "text" { Some(Some(65_535)) } else { string_capacity(t) }
    };
    if let (Some(a), Some(b)) = (from.int_width(), to.int_width()) {
        return (b < a).then(|| format!("values outside the range of {} are rejected", to.name));
    }
    if fractional(from) && to.int_width().is_some() {
        return Some("fractions are rounded away and values outside the integer range are rejected".to_owned());
    }
    if from.name == "double precision" && to.name == "real" {
        return Some("values lose precision beyond 6 significant digits".to_owned());
    }
    if from.name == "numeric" && to.name == "numeric" {
        let digits = |t: &Ty| {
            t.args
                .first()
                .map(|p| (p - t.args.get(1).copied().unwrap_or(0).min(*p), t.args.get(1).copied().unwrap_or(0)))
        };
        return match (digits(from), digits(to)) {
            (None, Some((int_b, scale_b))) => Some(format!(
                "values with more than {int_b} integer digits are rejected and fractions are rounded to {scale_b} digits"
            )),
            (Some((int_a, scale_a)), Some((int_b, scale_b))) if int_b < int_a || scale_b < scale_a => {
                let mut effects = Vec::new();
                if int_b < int_a {
                    effects.push(format!("values with more than {int_b} integer digits are rejected"));
                }
                if scale_b < scale_a {
                    effects.push(format!("fractions are rounded to {scale_b} digits"));
                }
                Some(effects.join(" and "))
            }
            _ => None,
        };
    }
    if matches!(from.name.as_str(), "timestamp" | "timestamptz" | "datetime") && to.name == "date" {
        return Some("the time of day is dropped from every value".to_owned());
    }
    if to.name == "char" {
        let m = to.args.first().copied().unwrap_or(1);
        return match (from.name.as_str(), text_cap(from)) {
            ("char", Some(Some(n))) if n <= m => None,
            (_, Some(_)) => {
                Some(format!("values longer than {m} characters are rejected and shorter ones padded with blanks"))
            }
            _ => Some(format!("values are converted to blank-padded strings of {m} characters, longer ones rejected")),
        };
    }
    if let (Some(a), Some(Some(m))) = (text_cap(from), text_cap(to)) {
        let narrower = match a {
            None => true,
            Some(n) => m < n,
        };
        return narrower.then(|| format!("values longer than {m} characters are rejected"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::testing::{hits, hits_on};

    fn narrows(from: &str, to: &str) -> bool {
        narrowing(Dialect::Postgres, &Ty::parse(Dialect::Postgres, from), &Ty::parse(Dialect::Postgres, to)).is_some()
    }

    #[test]
    fn knows_which_changes_narrow() {
        for (from, to) in [
            ("bigint", "integer"),
            ("integer", "smallint"),
            ("text", "varchar(20)"),
            ("varchar(200)", "varchar(20)"),
            ("numeric(10,2)", "numeric(8,2)"),
            ("numeric(10,2)", "numeric(10,0)"),
            ("numeric", "numeric(12,2)"),
            ("numeric(10,2)", "integer"),
            ("timestamptz", "date"),
            ("float8", "float4"),
            ("double precision", "integer"),
            ("text", "char(2)"),
            ("integer", "char(4)"),
            ("char(10)", "char(2)"),
        ] {
            assert!(narrows(from, to), "{from} -> {to}");
        }
        for (from, to) in [
            ("integer", "bigint"),
            ("varchar(20)", "varchar(200)"),
            ("varchar(20)", "text"),
            ("numeric(8,2)", "numeric(10,2)"),
            ("date", "timestamptz"),
            ("float4", "float8"),
            ("char(2)", "char(10)"),
            ("text", "text"),
            ("integer", "text"),
            ("integer[]", "bigint"),
        ] {
            assert!(!narrows(from, to), "{from} -> {to}");
        }
    }

    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, title text, views bigint, price numeric(10,2));";

    #[test]
    fn flags_narrowing_an_existing_column() {
        let found = hits("narrowing-type", &[ADS, "ALTER TABLE ads ALTER COLUMN views TYPE integer;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "column views of the existing table ads is changed from bigint to integer: values outside the range of integer are rejected"
        );
        let found = hits_on(
            Dialect::Mysql,
            "narrowing-type",
            &[
                "CREATE TABLE ads (id bigint PRIMARY KEY, title varchar(200));",
                "ALTER TABLE ads MODIFY title varchar(50) NOT NULL;",
            ],
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.ends_with("values longer than 50 characters are rejected"));
    }

    #[test]
    fn accepts_widening_and_columns_added_in_the_migration() {
        assert!(hits("narrowing-type", &[ADS, "ALTER TABLE ads ALTER COLUMN price TYPE numeric(12,2);"]).is_empty());
        assert!(
            hits(
                "narrowing-type",
                &[ADS, "ALTER TABLE ads ADD COLUMN n bigint;\nALTER TABLE ads ALTER COLUMN n TYPE integer;"]
            )
            .is_empty()
        );
    }
}
