//! DL104 `column-type-rewrite`: `ALTER COLUMN … TYPE` (MySQL `MODIFY`/`CHANGE`) on a table that
//! already exists, to a type the server cannot switch to in place: the table is rewritten (copied
//! on MySQL) and its indexes rebuilt while writes — on PostgreSQL reads too — wait.

use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::Action;
use crate::lint::{Cx, Hit};
use crate::report::Severity;
use crate::schema::normalize_type;

/// See the module docs.
#[derive(Debug)]
pub struct ColumnTypeRewrite;

static META: RuleMeta = RuleMeta {
    id: "column-type-rewrite",
    code: "DL104",
    summary: "changing a column's type on an existing table rewrites the table under a lock",
    severity: Severity::Warning,
    dialects: &[Dialect::Postgres, Dialect::Mysql],
    default_on: true,
    lock_sensitive: true,
    squawk: &["changing-column-type"],
    strong_migrations: "change_column",
    atlas: "",
};

impl Rule for ColumnTypeRewrite {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Some((table, actions)) = cx.alter_existing() else { return };
        let mut changes = Vec::new();
        for a in actions {
            let Action::AlterType { column, new_type, using, span, .. } = a else { continue };
            // A column the history does not know: its old type is unknown, say nothing.
            let Some(col) = cx.column(table, column) else { continue };
            let old = Ty::parse(cx.dialect, &col.data_type);
            let new = Ty::parse(cx.dialect, new_type);
            let in_place = match cx.dialect {
                Dialect::Postgres => {
                    (!*using || plain_using(cx.source(span), column, new_type)) && pg_in_place(&old, &new)
                }
                _ => mysql_in_place(&old, &new),
            };
            if !in_place {
                changes.push((column.as_str(), col.data_type.as_str(), new_type.trim(), span.clone(), old, new));
            }
        }
        let (Some(first), Some(last)) = (changes.first(), changes.last()) else { return };
        let span = first.3.start..last.3.end;
        let listed = changes.iter().map(|(c, from, to, ..)| format!("{c} ({from} → {to})")).collect::<Vec<_>>();
        let cols = if changes.len() == 1 {
            format!("column {} changes type", listed.join(""))
        } else {
            format!("columns {} change type", listed.join(", "))
        };
        let (effect, mut help) = if cx.dialect == Dialect::Mysql {
            (
                "which copies the table (ALGORITHM=COPY)",
                "MySQL cannot make this change in place: it copies every row into a new table and rebuilds every \
                 index, and writes to the table wait until the copy ends. Use an online schema change tool (gh-ost, \
                 pt-online-schema-change), or add a new column, fill it in batches and switch to it"
                    .to_owned(),
            )
        } else {
            (
                "which rewrites the table and rebuilds its indexes",
                "ALTER COLUMN … TYPE holds an ACCESS EXCLUSIVE lock while it rewrites every row and rebuilds every \
                 index: no reads and no writes until it ends. Add a new column instead, fill it in batches while the \
                 application writes both, move the readers, then drop the old column in a later migration"
                    .to_owned(),
            )
        };
        if changes.iter().any(|c| c.4.name == "timestamp" && c.5.name == "timestamptz") {
            help.push_str(
                ". timestamp → timestamptz skips the rewrite only when the session time zone is UTC; set it in the \
                 migration and ignore this finding if you rely on that",
            );
        }
        out.push(
            Hit::new(span, format!("{cols} on the existing table {}, {effect}", table.key()), help)
                .on_table(table.key()),
        );
    }
}

/// A type split into name, modifiers and array-ness, after normalizing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ty {
    /// Canonical name (`varchar`, `numeric`, `timestamptz`, …).
    name: String,
    /// Modifiers inside the parentheses, trimmed.
    args: Vec<String>,
    /// Words after the modifiers (`unsigned`).
    rest: String,
    /// `[]`.
    array: bool,
}

impl Ty {
    fn parse(dialect: Dialect, raw: &str) -> Ty {
        // MySQL's integer attributes follow the type, with or without a display width
        // (`int(11) unsigned`, `INT UNSIGNED`): keep them apart so both spellings compare equal.
        let mut head = raw.trim().to_ascii_lowercase();
        let mut attrs = Vec::new();
        while let Some((rest, last)) = head.rsplit_once(char::is_whitespace) {
            if !matches!(last, "unsigned" | "signed" | "zerofill") {
                break;
            }
            attrs.insert(0, last.to_owned());
            head = rest.trim_end().to_owned();
        }
        let mut ty = Ty::parse_normalized(normalize_type(dialect, &head));
        if !attrs.is_empty() {
            ty.rest = [ty.rest.clone(), attrs.join(" ")].join(" ").trim().to_owned();
        }
        ty
    }

    fn parse_normalized(mut t: String) -> Ty {
        // MySQL restates the character set in MODIFY; it is not part of the type's storage class here.
        for cut in [" character set ", " charset "] {
            if let Some(i) = t.find(cut) {
                t.truncate(i);
            }
        }
        let array = t.ends_with("[]");
        let t = t.trim_end_matches("[]").trim().to_owned();
        match (t.find('('), t.rfind(')')) {
            (Some(open), Some(close)) if close > open => Ty {
                name: t[..open].trim().to_owned(),
                args: t[open + 1..close].split(',').map(|a| a.trim().to_owned()).collect(),
                rest: t[close + 1..].trim().to_owned(),
                array,
            },
            _ => Ty { name: t, args: Vec::new(), rest: String::new(), array },
        }
    }

    /// The `i`th modifier as a number.
    fn num(&self, i: usize) -> Option<u32> {
        self.args.get(i).and_then(|a| a.parse().ok())
    }
}

/// Whether the `USING` clause of `action` (its source text) only restates the column, as itself
/// or cast to the new type (`USING c`, `USING c::t`, `USING CAST(c AS t)`): PostgreSQL then sees
/// the same conversion as without `USING`. Any other expression is computed row by row.
fn plain_using(action: &str, column: &str, new_type: &str) -> bool {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace() && *c != '"').collect::<String>().to_lowercase();
    let lower = action.to_ascii_lowercase();
    let Some(at) = lower.rfind("using") else { return false };
    let expr = squash(action.get(at + "using".len()..).unwrap_or(""));
    let (col, ty) = (squash(column), squash(new_type));
    expr == col || expr == format!("{col}::{ty}") || expr == format!("cast({col}as{ty})")
}

/// Whether PostgreSQL changes `old` to `new` without rewriting the table (binary-coercible casts
/// and relaxed modifiers).
fn pg_in_place(old: &Ty, new: &Ty) -> bool {
    if old == new {
        return true;
    }
    if old.array || new.array || !old.rest.is_empty() || !new.rest.is_empty() {
        return false;
    }
    // A limit that is dropped or grows: `None` stands for no limit.
    let wider = |a: Option<u32>, b: Option<u32>, a_has: bool, b_has: bool| match (a_has, b_has) {
        (_, false) => true,
        (false, true) => false,
        (true, true) => matches!((a, b), (Some(a), Some(b)) if b >= a),
    };
    let lengths = || wider(old.num(0), new.num(0), !old.args.is_empty(), !new.args.is_empty());
    let is_varbit = |n: &str| n == "varbit" || n == "bit varying";
    match (old.name.as_str(), new.name.as_str()) {
        ("varchar", "varchar") => lengths(),
        ("varchar" | "text", "text") => true,
        ("text", "varchar") => new.args.is_empty(),
        (a, b) if is_varbit(a) && is_varbit(b) => lengths(),
        ("numeric", "numeric") => {
            if new.args.is_empty() {
                return true;
            }
            if old.args.is_empty() {
                return false;
            }
            let scale = |t: &Ty| if t.args.len() > 1 { t.num(1) } else { Some(0) };
            matches!((old.num(0), new.num(0)), (Some(p), Some(q)) if q >= p)
                && scale(old).is_some()
                && scale(old) == scale(new)
        }
        ("cidr", "inet") => true,
        (a, b) if a == b && matches!(a, "timestamp" | "timestamptz" | "interval") => lengths(),
        _ => false,
    }
}

/// Whether MySQL changes `old` to `new` in place: a `VARCHAR` that grows without crossing the
/// 255-byte boundary of its length prefix (counted for utf8mb4, 4 bytes a character), and
/// `ENUM`/`SET` members added at the end.
fn mysql_in_place(old: &Ty, new: &Ty) -> bool {
    if old == new {
        return true;
    }
    if old.rest != new.rest || old.array || new.array {
        return false;
    }
    match (old.name.as_str(), new.name.as_str()) {
        ("varchar", "varchar") => match (old.num(0), new.num(0)) {
            (Some(a), Some(b)) => b >= a && (a <= 63) == (b <= 63),
            _ => false,
        },
        ("enum", "enum") | ("set", "set") => new.args.len() >= old.args.len() && new.args.starts_with(&old.args),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Ty, mysql_in_place, pg_in_place};
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};

    const RULE: &str = "column-type-rewrite";
    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, price integer, title varchar(100), slug text, \
                       amount numeric(10,2), at timestamp, net cidr);";

    fn pg(a: &str, b: &str) -> bool {
        pg_in_place(&Ty::parse(Dialect::Postgres, a), &Ty::parse(Dialect::Postgres, b))
    }

    #[test]
    fn postgres_binary_coercible_changes_stay_in_place() {
        assert!(pg("varchar(100)", "varchar(200)"));
        assert!(pg("character varying(100)", "varchar"));
        assert!(pg("varchar(100)", "text"));
        assert!(pg("text", "varchar"));
        assert!(pg("numeric(10,2)", "numeric(12, 2)"));
        assert!(pg("numeric(10,2)", "numeric"));
        assert!(pg("numeric(10)", "decimal(12,0)"));
        assert!(pg("cidr", "inet"));
        assert!(pg("timestamptz(3)", "timestamp(6) with time zone"));
        assert!(pg("int4", "integer"));
    }

    #[test]
    fn postgres_rewrites_everything_else() {
        assert!(!pg("varchar(100)", "varchar(50)"));
        assert!(!pg("text", "varchar(50)"));
        assert!(!pg("varchar", "varchar(50)"));
        assert!(!pg("numeric(10,2)", "numeric(12,3)"));
        assert!(!pg("numeric(10,2)", "numeric(8,2)"));
        assert!(!pg("numeric", "numeric(10,2)"));
        assert!(!pg("integer", "bigint"));
        assert!(!pg("timestamp", "timestamptz"));
        assert!(!pg("inet", "cidr"));
        assert!(!pg("varchar(10)[]", "text[]"));
    }

    #[test]
    fn a_using_clause_that_restates_the_column_changes_nothing() {
        assert!(super::plain_using("ALTER COLUMN title TYPE text USING title::text", "title", "text"));
        assert!(super::plain_using("alter title type TEXT using CAST( \"title\" AS text )", "title", "TEXT"));
        assert!(!super::plain_using("ALTER COLUMN title TYPE text USING upper(title)", "title", "text"));
        assert!(hits(RULE, &[ADS, "ALTER TABLE ads ALTER COLUMN title TYPE text USING title::text;"]).is_empty());
        assert_eq!(hits(RULE, &[ADS, "ALTER TABLE ads ALTER COLUMN price TYPE bigint USING price::bigint;"]).len(), 1);
    }

    #[test]
    fn flags_a_rewriting_change_on_an_existing_table() {
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ALTER COLUMN price TYPE bigint;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "column price (integer → bigint) changes type on the existing table ads, which rewrites the table and \
             rebuilds its indexes"
        );
        assert_eq!(found[0].table.as_deref(), Some("ads"));
    }

    #[test]
    fn one_finding_for_several_columns_and_using_counts_as_a_rewrite() {
        let found = hits(
            RULE,
            &[ADS, "ALTER TABLE ads ALTER COLUMN price TYPE bigint, ALTER COLUMN title TYPE text USING upper(title);"],
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.starts_with("columns price (integer → bigint), title (varchar(100) → text)"));
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ALTER COLUMN at TYPE timestamptz;"]);
        assert!(found[0].finding.help.as_deref().unwrap_or("").contains("time zone is UTC"));
    }

    #[test]
    fn accepts_in_place_changes_new_tables_and_unknown_columns() {
        for sql in [
            "ALTER TABLE ads ALTER COLUMN title TYPE varchar(200);",
            "ALTER TABLE ads ALTER COLUMN title SET DATA TYPE text;",
            "ALTER TABLE ads ALTER COLUMN amount TYPE numeric(14,2);",
            "ALTER TABLE ads ALTER COLUMN net TYPE inet;",
            "ALTER TABLE ads ALTER COLUMN nope TYPE bigint;",
        ] {
            assert!(hits(RULE, &[ADS, sql]).is_empty(), "{sql}");
        }
        assert!(hits(RULE, &["CREATE TABLE t (a integer);\nALTER TABLE t ALTER COLUMN a TYPE bigint;"]).is_empty());
    }

    #[test]
    fn mysql_copies_unless_varchar_grows_within_its_length_prefix() {
        let my = |a: &str, b: &str| mysql_in_place(&Ty::parse(Dialect::Mysql, a), &Ty::parse(Dialect::Mysql, b));
        assert!(my("varchar(20)", "varchar(60)"));
        assert!(my("varchar(100)", "varchar(300) CHARACTER SET utf8mb4"));
        assert!(!my("varchar(60)", "varchar(100)"));
        assert!(!my("varchar(100)", "varchar(50)"));
        assert!(my("enum('a','b')", "enum('a','b','c')"));
        assert!(!my("enum('a','b')", "enum('c','a','b')"));
        assert!(!my("int", "bigint"));
        assert!(my("int(11) unsigned", "INT UNSIGNED"));
        assert!(!my("int unsigned", "int"));
        let t = "CREATE TABLE ads (id bigint PRIMARY KEY, price int, title varchar(20));";
        let found = hits_on(Dialect::Mysql, RULE, &[t, "ALTER TABLE ads MODIFY price bigint NOT NULL;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.ends_with("which copies the table (ALGORITHM=COPY)"));
        assert!(hits_on(Dialect::Mysql, RULE, &[t, "ALTER TABLE ads MODIFY title varchar(40) NOT NULL;"]).is_empty());
        assert!(hits_on(Dialect::Mysql, RULE, &[t, "ALTER TABLE ads CHANGE price price int NOT NULL;"]).is_empty());
    }
}
