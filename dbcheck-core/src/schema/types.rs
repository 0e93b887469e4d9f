//! Type and expression normalization, so that spellings of the same thing compare equal:
//! `int4`, `integer` and `serial` are all `integer`; `character varying(20)` is `varchar(20)`.

use crate::db::Dialect;

/// Collapse whitespace outside quoted strings and identifiers, and trim.
pub fn normalize_expression(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut pending_space = false;
    for c in text.trim().chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
        }
        out.push(c);
    }
    out
}

/// A default expression as compared: whitespace collapsed; MySQL's `NULL` default means none.
pub fn normalize_default(dialect: Dialect, text: Option<&str>) -> Option<String> {
    let t = normalize_expression(text?);
    if t.is_empty() || (dialect != Dialect::Postgres && t.eq_ignore_ascii_case("null")) {
        return None;
    }
    Some(t)
}

/// Normalize a type name as written or as a catalog prints it.
///
/// PostgreSQL and MySQL spellings map onto one canonical name (`int4`/`int`/`serial` → `integer`,
/// `character varying` → `varchar`, `timestamp with time zone` → `timestamptz`, `decimal` →
/// `numeric`, MySQL display widths dropped, `tinyint(1)` → `boolean`). SQLite keeps the declared
/// type (lowercased, whitespace collapsed): there `INT PRIMARY KEY` and `INTEGER PRIMARY KEY`
/// mean different things.
pub fn normalize_type(dialect: Dialect, raw: &str) -> String {
    let t = normalize_expression(&raw.to_ascii_lowercase());
    let t = t.replace(", ", ",").replace(" (", "(").replace("( ", "(").replace(" )", ")");
    if dialect == Dialect::Sqlite {
        return t;
    }
    // Split off array brackets and a parenthesized modifier.
    let (base, array) = match t.find("[]") {
        Some(i) => (t[..i].trim().to_owned(), t[i..].replace(' ', "")),
        None => (t.clone(), String::new()),
    };
    let (mut name, mut modifier, mut rest) = match (base.find('('), base.find(')')) {
        (Some(open), Some(close)) if close > open => (
            base[..open].trim().to_owned(),
            Some(base[open + 1..close].to_owned()),
            base[close + 1..].trim().to_owned(),
        ),
        _ => (base.clone(), None, String::new()),
    };
    // `timestamp(3) with time zone`: the zone words follow the modifier.
    if !rest.is_empty() && (name == "timestamp" || name == "time") {
        name = format!("{name} {rest}");
        rest = String::new();
    }
    let canonical = match name.as_str() {
        "int" | "int4" | "integer" | "serial" | "serial4" | "mediumint" => "integer",
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint",
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint",
        "bool" | "boolean" => "boolean",
        "float8" | "double" | "double precision" => "double precision",
        "float4" | "real" => "real",
        "float" if dialect == Dialect::Mysql => "real",
        "float" => "double precision",
        "decimal" | "numeric" => "numeric",
        "character varying" | "varchar" => "varchar",
        "character" | "char" | "bpchar" => "char",
        "timestamp with time zone" | "timestamptz" => "timestamptz",
        "timestamp without time zone" | "timestamp" => "timestamp",
        "time with time zone" | "timetz" => "timetz",
        "time without time zone" | "time" => "time",
        "tinyint" if dialect == Dialect::Mysql && modifier.as_deref() == Some("1") => {
            modifier = None;
            "boolean"
        }
        other => other,
    }
    .to_owned();
    // MySQL integer display widths carry no meaning.
    if dialect == Dialect::Mysql
        && matches!(canonical.as_str(), "integer" | "bigint" | "smallint" | "tinyint")
        && modifier.as_deref().is_some_and(|m| m.chars().all(|c| c.is_ascii_digit()))
    {
        modifier = None;
    }
    let mut out = canonical;
    if let Some(m) = modifier {
        out.push('(');
        out.push_str(&m);
        out.push(')');
    }
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(&rest);
    }
    out.push_str(&array);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_spellings_compare_equal() {
        let n = |t| normalize_type(Dialect::Postgres, t);
        assert_eq!(n("int4"), "integer");
        assert_eq!(n("serial"), "integer");
        assert_eq!(n("INTEGER"), "integer");
        assert_eq!(n("bigserial"), "bigint");
        assert_eq!(n("character varying(200)"), "varchar(200)");
        assert_eq!(n("VARCHAR( 200 )"), "varchar(200)");
        assert_eq!(n("numeric(10, 2)"), "numeric(10,2)");
        assert_eq!(n("decimal(10,2)"), "numeric(10,2)");
        assert_eq!(n("timestamp with time zone"), "timestamptz");
        assert_eq!(n("timestamp(3) with time zone"), "timestamptz(3)");
        assert_eq!(n("timestamp without time zone"), "timestamp");
        assert_eq!(n("integer[]"), "integer[]");
        assert_eq!(n("int4 []"), "integer[]");
        assert_eq!(n("character varying(20)[]"), "varchar(20)[]");
        assert_eq!(n("bool"), "boolean");
        assert_eq!(n("float8"), "double precision");
        assert_eq!(n("mood"), "mood");
    }

    #[test]
    fn mysql_display_widths_are_dropped() {
        let n = |t| normalize_type(Dialect::Mysql, t);
        assert_eq!(n("int(11)"), "integer");
        assert_eq!(n("bigint(20) unsigned"), "bigint unsigned");
        assert_eq!(n("tinyint(1)"), "boolean");
        assert_eq!(n("tinyint(4)"), "tinyint");
        assert_eq!(n("decimal(10,2)"), "numeric(10,2)");
        assert_eq!(n("enum('a','b')"), "enum('a','b')");
    }

    #[test]
    fn sqlite_keeps_declared_types() {
        assert_eq!(normalize_type(Dialect::Sqlite, "NUMERIC(10, 2)"), "numeric(10,2)");
        assert_eq!(normalize_type(Dialect::Sqlite, "INT"), "int");
    }

    #[test]
    fn expressions_collapse_whitespace_outside_quotes() {
        assert_eq!(normalize_expression("  a  +\n b "), "a + b");
        assert_eq!(normalize_expression("'a  b'  || x"), "'a  b' || x");
        assert_eq!(normalize_default(Dialect::Mysql, Some("NULL")), None);
        assert_eq!(normalize_default(Dialect::Postgres, Some("NULL")).as_deref(), Some("NULL"));
    }
}
