//! DL105 `volatile-default`: a column added to a table that already exists with a default
//! PostgreSQL must compute row by row (a volatile function, `serial`, identity, a stored
//! generated column; any default before PostgreSQL 11) rewrites the table under its lock.

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::{Action, ColumnDef};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct VolatileDefault;

static META: RuleMeta = RuleMeta {
    id: "volatile-default",
    code: "DL105",
    summary: "a column added to an existing table with a volatile default rewrites the table",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &["adding-field-with-default"],
    strong_migrations: "add_column_default",
    atlas: "",
};

/// Functions whose value differs per row: PostgreSQL evaluates them for every existing row.
const VOLATILE: &[&str] = &[
    "random(",
    "gen_random_uuid(",
    "uuid_generate_v1(",
    "uuid_generate_v1mc(",
    "uuid_generate_v4(",
    "uuidv4(",
    "uuidv7(",
    "clock_timestamp(",
    "timeofday(",
    "nextval(",
    "setseed(",
];

/// Why a new column's default fills every row one by one, or `None`.
fn per_row(col: &ColumnDef, source: &str, pg_version: u32) -> Option<String> {
    let ty = col.type_text.trim().to_ascii_lowercase();
    if matches!(ty.as_str(), "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2") {
        return Some(format!("the type {ty}, which fills it from a sequence (nextval)"));
    }
    if col.identity {
        return Some("an identity, which fills it from a sequence".to_owned());
    }
    if col.generated && source.to_ascii_uppercase().contains("STORED") {
        return Some("a stored generated expression, computed for every row".to_owned());
    }
    let default = col.default.as_deref()?.trim();
    let bare = without_strings(default).to_ascii_lowercase().split_whitespace().collect::<String>();
    if VOLATILE.iter().any(|f| calls(&bare, f)) {
        return Some(format!("the volatile default {default}"));
    }
    // `DEFAULT NULL` reads as an empty default (NULL ends a column's default in the classifier).
    let null = bare.is_empty() || bare == "null" || bare.starts_with("null::");
    if pg_version < 11 && !null {
        return Some(format!("the default {default}, written into every row before PostgreSQL 11"));
    }
    None
}

/// Whether `expr` calls `function` (written `name(`): not as the tail of a longer name.
fn calls(expr: &str, function: &str) -> bool {
    expr.match_indices(function)
        .any(|(at, _)| !expr[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"'))
}

/// `s` with its string literals emptied (`'nextval(x)'` is text, not a call).
fn without_strings(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quoted = false;
    for ch in s.chars() {
        if ch == '\'' {
            quoted = !quoted;
            out.push(ch);
        } else if !quoted {
            out.push(ch);
        }
    }
    out
}

/// The `integer`-family type a serial type stands for.
fn serial_base(ty: &str) -> Option<&'static str> {
    match ty {
        "serial" | "serial4" => Some("integer"),
        "bigserial" | "serial8" => Some("bigint"),
        "smallserial" | "serial2" => Some("smallint"),
        _ => None,
    }
}

impl Rule for VolatileDefault {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Some((table, actions)) = cx.alter_existing() else { return };
        let t = table.key();
        for a in actions {
            let Action::AddColumn(col) = a else { continue };
            let Some(why) = per_row(col, cx.source(&col.span), cx.pg_version()) else { continue };
            let ty = col.type_text.trim();
            let fix = if let Some(base) = serial_base(&ty.to_ascii_lowercase()) {
                let seq = format!("{t}_{}_seq", col.name);
                Some(format!(
                    "ALTER TABLE {t} ADD COLUMN {c} {base};\nCREATE SEQUENCE {seq} AS {base} OWNED BY {t}.{c};\n\
                     ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT nextval('{seq}');\n\
                     -- then number the existing rows in batches, outside this migration",
                    c = col.name
                ))
            } else if let (Some(default), false, false) = (&col.default, col.identity, col.generated) {
                Some(format!(
                    "ALTER TABLE {t} ADD COLUMN {c} {ty};\nALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {d};\n\
                     -- then fill the existing rows in batches, outside this migration",
                    c = col.name,
                    d = default.trim()
                ))
            } else {
                None
            };
            let mut hit = Hit::new(
                col.span.clone(),
                format!("column {} is added to the existing table {t} with {why}, which rewrites the table", col.name),
                "PostgreSQL fills the new column row by row, rewriting the whole table and its indexes under an \
                 ACCESS EXCLUSIVE lock: no reads and no writes until it ends. Add the column without the default, \
                 set the default for new rows in a separate statement, and fill the existing rows in batches",
            )
            .on_table(t.clone());
            if let Some(fix) = fix {
                hit = hit.fix(fix);
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

    const RULE: &str = "volatile-default";
    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, price integer);";

    #[test]
    fn flags_volatile_defaults_serials_and_identities_on_an_existing_table() {
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "column token is added to the existing table ads with the volatile default gen_random_uuid(), which \
             rewrites the table"
        );
        let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
        assert!(fix.starts_with("ALTER TABLE ads ADD COLUMN token uuid;\n"), "{fix}");
        assert!(fix.contains("ALTER TABLE ads ALTER COLUMN token SET DEFAULT gen_random_uuid();"), "{fix}");
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ADD COLUMN n bigserial;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.fix_sql.as_deref().unwrap_or("").contains("nextval('ads_n_seq')"));
        for sql in [
            "ALTER TABLE ads ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;",
            "ALTER TABLE ads ADD COLUMN r float8 DEFAULT random();",
            "ALTER TABLE ads ADD COLUMN at timestamptz DEFAULT clock_timestamp ( );",
            "ALTER TABLE ads ADD COLUMN u uuid DEFAULT public.gen_random_uuid();",
            "ALTER TABLE ads ADD COLUMN n bigint DEFAULT nextval('ads_n_seq'::regclass);",
            "ALTER TABLE ads ADD COLUMN dbl integer GENERATED ALWAYS AS (price * 2) STORED;",
        ] {
            assert_eq!(hits(RULE, &[ADS, sql]).len(), 1, "{sql}");
        }
    }

    #[test]
    fn accepts_constant_and_stable_defaults_and_new_tables() {
        for sql in [
            "ALTER TABLE ads ADD COLUMN at timestamptz NOT NULL DEFAULT now();",
            "ALTER TABLE ads ADD COLUMN state text NOT NULL DEFAULT 'nextval(x)';",
            "ALTER TABLE ads ADD COLUMN n integer DEFAULT 0;",
            "ALTER TABLE ads ADD COLUMN n float8 DEFAULT my_random();",
            "ALTER TABLE ads ADD COLUMN n integer;",
        ] {
            assert!(hits(RULE, &[ADS, sql]).is_empty(), "{sql}");
        }
        assert!(
            hits(RULE, &["CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();"])
                .is_empty()
        );
    }

    #[test]
    fn before_postgres_11_every_default_rewrites() {
        let on = |v, sql| {
            let options = LintOptions {
                config: LintConfig { postgres_version: Some(v), ..LintConfig::default() },
                ..LintOptions::default()
            };
            lint_with(Dialect::Postgres, &[ADS, sql], &options).into_iter().filter(|f| f.rule == RULE).count()
        };
        assert_eq!(on(10, "ALTER TABLE ads ADD COLUMN n integer NOT NULL DEFAULT 0;"), 1);
        assert_eq!(on(10, "ALTER TABLE ads ADD COLUMN n integer DEFAULT NULL;"), 0);
        assert_eq!(on(11, "ALTER TABLE ads ADD COLUMN n integer NOT NULL DEFAULT 0;"), 0);
    }
}
