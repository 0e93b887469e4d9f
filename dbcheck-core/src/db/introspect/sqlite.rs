//! SQLite introspection: pragma table-valued functions joined with `sqlite_schema` (four queries
//! for the whole database), plus the stored `CREATE TABLE` / `CREATE INDEX` text for what no pragma
//! tells: CHECK constraints, generated columns, `AUTOINCREMENT`, constraint names, index expressions.

use std::collections::BTreeMap;

use super::{IntrospectOptions, literal_list, take, truthy};
use crate::db::{Db, DbError, Dialect};
use crate::schema::{
    CheckConstraint, Column, FkAction, ForeignKey, Generated, Index, PrimaryKey, Schema, Table, Trigger,
    UniqueConstraint, View, definition_hash, normalize_default, normalize_expression, normalize_type,
};

pub(super) async fn introspect(db: &mut Db, options: &IntrospectOptions) -> Result<Schema, DbError> {
    let d = Dialect::Sqlite;
    let excluded = literal_list(d, &options.excluded());
    let tables_filter =
        format!("m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name NOT IN ({excluded})");
    let mut schema = Schema::empty(d);

    // 1. Every object with its stored SQL.
    let sql = format!(
        "SELECT m.type, m.name, m.tbl_name, m.sql FROM sqlite_schema m \
         WHERE m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.tbl_name NOT IN ({excluded}) ORDER BY m.type, m.name"
    );
    let mut table_sql: BTreeMap<String, String> = BTreeMap::new();
    let mut index_sql: BTreeMap<String, String> = BTreeMap::new();
    for mut r in db.text_rows(sql, "reading sqlite_schema").await? {
        let kind = take(&mut r, 0).unwrap_or_default();
        let name = take(&mut r, 1).unwrap_or_default();
        let tbl = take(&mut r, 2).unwrap_or_default();
        let text = take(&mut r, 3).unwrap_or_default();
        match kind.as_str() {
            "table" => {
                schema.tables.insert(name.clone(), Table::new(None, name.clone()));
                table_sql.insert(name, text);
            }
            "index" => {
                index_sql.insert(name, text);
            }
            "view" => {
                let definition = normalize_expression(&text);
                schema.views.insert(
                    name.clone(),
                    View {
                        schema: None,
                        name,
                        materialized: false,
                        definition_hash: definition_hash(&definition),
                        definition,
                    },
                );
            }
            "trigger" => {
                let definition = text.trim().to_owned();
                schema.triggers.insert(
                    format!("{tbl}.{name}"),
                    Trigger { table: tbl, name, definition_hash: definition_hash(&definition), definition },
                );
            }
            _ => {}
        }
    }
    let parsed: BTreeMap<String, ParsedTable> =
        table_sql.iter().map(|(name, text)| (name.clone(), parse_create_table(text))).collect();

    // 2. Columns (table_xinfo also lists generated columns).
    let sql = format!(
        "SELECT m.name, p.name, p.type, CAST(p.\"notnull\" AS TEXT), p.dflt_value, CAST(p.pk AS TEXT), \
         CAST(p.hidden AS TEXT) FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p \
         WHERE {tables_filter} ORDER BY m.name, p.cid"
    );
    let mut pk_cols: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for mut r in db.text_rows(sql, "reading columns").await? {
        let tname = take(&mut r, 0).unwrap_or_default();
        let hidden = r[6].as_deref().unwrap_or("0").to_owned();
        if hidden == "1" {
            continue;
        }
        let Some(table) = schema.tables.get_mut(&tname) else { continue };
        let name = take(&mut r, 1).unwrap_or_default();
        let mut col = Column::new(name.clone(), normalize_type(d, r[2].as_deref().unwrap_or("")));
        col.nullable = !truthy(r[3].as_deref());
        col.default = normalize_default(d, r[4].as_deref());
        let pk: i64 = r[5].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
        if pk > 0 {
            pk_cols.entry(tname.clone()).or_default().push((pk, name.clone()));
        }
        if let Some(p) = parsed.get(&tname) {
            if let Some((expr, stored)) = p.generated.get(&name.to_ascii_lowercase()) {
                col.generated = Some(Generated { expression: expr.clone(), stored: *stored || hidden == "3" });
            }
            if p.autoincrement.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&name)) {
                col.auto_increment = true;
            }
        }
        table.columns.push(col);
    }
    for (tname, mut cols) in pk_cols {
        cols.sort();
        if let Some(t) = schema.tables.get_mut(&tname) {
            t.primary_key = Some(PrimaryKey { name: None, columns: cols.into_iter().map(|(_, c)| c).collect() });
        }
    }

    // 3. Foreign keys.
    let sql = format!(
        "SELECT m.name, CAST(f.id AS TEXT), f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
         FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f WHERE {tables_filter} \
         ORDER BY m.name, f.id, f.seq"
    );
    let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for mut r in db.text_rows(sql, "reading foreign keys").await? {
        let tname = take(&mut r, 0).unwrap_or_default();
        let id = take(&mut r, 1).unwrap_or_default();
        let fk = fks.entry((tname, id)).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            references: r[2].clone().unwrap_or_default(),
            referenced_columns: Vec::new(),
            on_update: FkAction::parse(r[5].as_deref().unwrap_or("")),
            on_delete: FkAction::parse(r[6].as_deref().unwrap_or("")),
            deferrable: false,
            initially_deferred: false,
            valid: true,
        });
        fk.columns.push(take(&mut r, 3).unwrap_or_default());
        if let Some(to) = take(&mut r, 4) {
            fk.referenced_columns.push(to);
        }
    }
    for ((tname, _), fk) in fks {
        let Some(table) = schema.tables.get_mut(&tname) else { continue };
        let name = parsed
            .get(&tname)
            .and_then(|p| p.find_name(&p.fk_names, &fk.columns))
            .unwrap_or_else(|| format!("fk({})", fk.columns.join(",")));
        table.foreign_keys.insert(name, fk);
    }

    // 4. Indexes with their columns (expression keys come from the stored CREATE INDEX text).
    let sql = format!(
        "SELECT m.name, il.name, CAST(il.\"unique\" AS TEXT), il.origin, CAST(x.cid AS TEXT), x.name, \
         CAST(x.\"desc\" AS TEXT) FROM sqlite_schema m JOIN pragma_index_list(m.name) il \
         JOIN pragma_index_xinfo(il.name) x WHERE {tables_filter} AND x.key = 1 ORDER BY m.name, il.name, x.seqno"
    );
    let mut indexes: BTreeMap<(String, String), IndexRows> = BTreeMap::new();
    for mut r in db.text_rows(sql, "reading indexes").await? {
        let tname = take(&mut r, 0).unwrap_or_default();
        let iname = take(&mut r, 1).unwrap_or_default();
        let entry = indexes
            .entry((tname, iname))
            .or_insert_with(|| (truthy(r[2].as_deref()), r[3].clone().unwrap_or_default(), Vec::new()));
        let cid: i64 = r[4].as_deref().and_then(|v| v.parse().ok()).unwrap_or(-2);
        entry.2.push((cid, take(&mut r, 5), truthy(r[6].as_deref())));
    }
    for ((tname, iname), (unique, origin, keys)) in indexes {
        let Some(table) = schema.tables.get_mut(&tname) else { continue };
        let columns: Vec<String> = keys.iter().filter_map(|(_, n, _)| n.clone()).collect();
        match origin.as_str() {
            "pk" => {}
            "u" => {
                let name = parsed
                    .get(&tname)
                    .and_then(|p| p.find_name(&p.unique_names, &columns))
                    .unwrap_or_else(|| format!("unique({})", columns.join(",")));
                table.uniques.insert(name, UniqueConstraint { columns, deferrable: false, initially_deferred: false });
            }
            _ => {
                let text = index_sql.get(&iname).map(String::as_str).unwrap_or("");
                let (exprs, predicate) = parse_create_index(text);
                let columns = keys
                    .iter()
                    .enumerate()
                    .map(|(i, (cid, name, desc))| {
                        let base = match (cid, name) {
                            (c, Some(n)) if *c >= 0 => n.clone(),
                            _ => exprs.get(i).cloned().unwrap_or_default(),
                        };
                        let base = strip_direction(&base);
                        if *desc { format!("{base} DESC") } else { base }
                    })
                    .collect();
                table.indexes.insert(
                    iname,
                    Index { columns, include: Vec::new(), unique, method: None, predicate, valid: true },
                );
            }
        }
    }

    // Checks live only in the CREATE TABLE text.
    for (tname, p) in &parsed {
        let Some(table) = schema.tables.get_mut(tname) else { continue };
        for (name, expr) in &p.checks {
            let key = name.clone().unwrap_or_else(|| format!("check({expr})"));
            table.checks.insert(key, CheckConstraint { expression: expr.clone(), valid: true });
        }
    }
    Ok(schema)
}

/// An index's rows from the pragmas: unique, origin, and `(cid, column name, descending)` per key.
type IndexRows = (bool, String, Vec<(i64, Option<String>, bool)>);

/// `expr ASC` → `expr`, `expr desc` → `expr` (the direction comes from the pragma).
fn strip_direction(key: &str) -> String {
    let k = key.trim();
    let upper = k.to_ascii_uppercase();
    for suffix in [" ASC", " DESC"] {
        if upper.ends_with(suffix) {
            return k[..k.len() - suffix.len()].trim().to_owned();
        }
    }
    k.to_owned()
}

/// What only the stored `CREATE TABLE` text tells.
#[derive(Debug, Default)]
struct ParsedTable {
    /// `(name, expression)` of every CHECK, column-level ones included.
    checks: Vec<(Option<String>, String)>,
    /// Named UNIQUE constraints and their columns.
    unique_names: Vec<(String, Vec<String>)>,
    /// Named FOREIGN KEY constraints and their columns.
    fk_names: Vec<(String, Vec<String>)>,
    /// Generated columns (lowercased name) → (expression, stored).
    generated: BTreeMap<String, (String, bool)>,
    /// The `INTEGER PRIMARY KEY AUTOINCREMENT` column.
    autoincrement: Option<String>,
}

impl ParsedTable {
    fn find_name(&self, names: &[(String, Vec<String>)], columns: &[String]) -> Option<String> {
        names
            .iter()
            .find(|(_, cols)| {
                cols.len() == columns.len() && cols.iter().zip(columns).all(|(a, b)| a.eq_ignore_ascii_case(b))
            })
            .map(|(n, _)| n.clone())
    }
}

/// A token of SQLite DDL: a word, a quoted identifier, a string, a parenthesized group (its inner
/// text), or other punctuation.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Ident(String),
    Str,
    Group(String),
    Punct,
}

impl Tok {
    fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
    fn name(&self) -> Option<String> {
        match self {
            Tok::Word(w) | Tok::Ident(w) => Some(w.clone()),
            _ => None,
        }
    }
}

/// Byte index just past the quoted run starting at `start` (the quote char), doubling escapes.
fn skip_quoted(b: &[u8], start: usize, close: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == close {
            if close != b']' && i + 1 < b.len() && b[i + 1] == close {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Byte index past a comment starting at `i`, or `i` when none starts there.
fn skip_comment(b: &[u8], i: usize) -> usize {
    if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
        let mut j = i;
        while j < b.len() && b[j] != b'\n' {
            j += 1;
        }
        return j;
    }
    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
        let mut j = i + 2;
        while j + 1 < b.len() && !(b[j] == b'*' && b[j + 1] == b'/') {
            j += 1;
        }
        return (j + 2).min(b.len());
    }
    i
}

/// When a comment or a quoted literal/identifier starts at `i`, the index just past it: the
/// scanners below look only at what lies outside those.
fn skip_opaque(b: &[u8], i: usize) -> Option<usize> {
    let after = skip_comment(b, i);
    if after != i {
        return Some(after);
    }
    match b[i] {
        b'\'' | b'"' | b'`' => Some(skip_quoted(b, i, b[i])),
        b'[' => Some(skip_quoted(b, i, b']')),
        _ => None,
    }
}

/// Index of the `)` matching the `(` at `open`.
fn matching_paren(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        if let Some(after) = skip_opaque(b, i) {
            i = after;
            continue;
        }
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn tokens(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let after = skip_comment(b, i);
        if after != i {
            i = after;
            continue;
        }
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' {
            let close = matching_paren(b, i);
            out.push(Tok::Group(text[i + 1..close.min(b.len())].to_owned()));
            i = close + 1;
        } else if c == b'\'' {
            i = skip_quoted(b, i, b'\'');
            out.push(Tok::Str);
        } else if c == b'"' || c == b'`' || c == b'[' {
            let close = if c == b'[' { b']' } else { c };
            let end = skip_quoted(b, i, close);
            let inner = &text[i + 1..end.saturating_sub(1).max(i + 1)];
            let doubled = String::from_utf8(vec![close, close]).unwrap_or_default();
            out.push(Tok::Ident(inner.replace(&doubled, &(close as char).to_string())));
            i = end;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                i += 1;
            }
            out.push(Tok::Word(text[start..i].to_owned()));
        } else {
            out.push(Tok::Punct);
            i += 1;
        }
    }
    out
}

/// Split at commas outside parentheses, quotes and comments.
fn split_top_level(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut parts = Vec::new();
    let (mut start, mut depth, mut i) = (0, 0usize, 0);
    while i < b.len() {
        if let Some(after) = skip_opaque(b, i) {
            i = after;
            continue;
        }
        match b[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// Column names of a `(a, "b" DESC)` group.
fn group_names(inner: &str) -> Vec<String> {
    split_top_level(inner).iter().filter_map(|p| tokens(p).first().and_then(Tok::name)).collect()
}

fn parse_create_table(text: &str) -> ParsedTable {
    let mut out = ParsedTable::default();
    let b = text.as_bytes();
    let Some(open) = first_top_level_paren(b) else { return out };
    let close = matching_paren(b, open);
    let body = &text[open + 1..close.min(text.len())];
    for item in split_top_level(body) {
        let toks = tokens(item);
        let Some(first) = toks.first() else { continue };
        let table_constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].iter().any(|k| first.is(k));
        let column = if table_constraint { None } else { first.name() };
        let mut name: Option<String> = None;
        let mut i = usize::from(column.is_some());
        while i < toks.len() {
            let t = &toks[i];
            if t.is("CONSTRAINT") {
                name = toks.get(i + 1).and_then(Tok::name);
                i += 2;
                continue;
            }
            if t.is("CHECK")
                && let Some(Tok::Group(expr)) = toks.get(i + 1)
            {
                out.checks.push((name.take(), normalize_expression(expr)));
                i += 2;
                continue;
            }
            if t.is("UNIQUE") {
                let cols = match (&column, toks.get(i + 1)) {
                    (None, Some(Tok::Group(g))) => group_names(g),
                    (Some(c), _) => vec![c.clone()],
                    _ => Vec::new(),
                };
                if let Some(n) = name.take() {
                    out.unique_names.push((n, cols));
                }
            } else if t.is("FOREIGN") {
                if let (Some(Tok::Group(g)), Some(n)) = (toks.get(i + 2), name.take()) {
                    out.fk_names.push((n, group_names(g)));
                }
            } else if t.is("REFERENCES") {
                if let (Some(c), Some(n)) = (&column, name.take()) {
                    out.fk_names.push((n, vec![c.clone()]));
                }
            } else if t.is("AUTOINCREMENT") {
                out.autoincrement = column.clone();
            } else if t.is("AS")
                && let (Some(c), Some(Tok::Group(expr))) = (&column, toks.get(i + 1))
            {
                let stored = toks.get(i + 2).is_some_and(|t| t.is("STORED"));
                out.generated.insert(c.to_ascii_lowercase(), (normalize_expression(expr), stored));
            } else if t.is("PRIMARY") || t.is("NOT") || t.is("DEFAULT") || t.is("COLLATE") {
                // A name applies to the constraint right after it; these end its scope.
                name = None;
            }
            i += 1;
        }
    }
    out
}

/// The first `(` outside quotes and comments.
fn first_top_level_paren(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        if let Some(after) = skip_opaque(b, i) {
            i = after;
            continue;
        }
        if b[i] == b'(' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Key expressions and the WHERE predicate of a stored `CREATE INDEX`.
fn parse_create_index(text: &str) -> (Vec<String>, Option<String>) {
    let b = text.as_bytes();
    let Some(open) = first_top_level_paren(b) else { return (Vec::new(), None) };
    let close = matching_paren(b, open);
    let keys =
        split_top_level(&text[open + 1..close.min(text.len())]).iter().map(|k| normalize_expression(k)).collect();
    let rest = text.get(close + 1..).unwrap_or("").trim();
    let predicate = if rest.len() > 5 && rest[..5].eq_ignore_ascii_case("where") {
        Some(normalize_expression(&rest[5..]))
    } else {
        None
    };
    (keys, predicate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_text_yields_checks_generated_and_names() {
        let p = parse_create_table(
            "CREATE TABLE \"ads\" (\n  id INTEGER PRIMARY KEY AUTOINCREMENT, -- the id, (really)\n  \
             title TEXT NOT NULL CONSTRAINT ads_title_not_empty CHECK (trim(title) <> ''),\n  \
             price NUMERIC(10, 2) CHECK (price >= 0),\n  total INT GENERATED ALWAYS AS (price * 2) STORED,\n  \
             user_id INT CONSTRAINT ads_user_fk REFERENCES users (id),\n  \
             CONSTRAINT ads_pair UNIQUE (title, price),\n  CHECK (length(title) < 100)\n)",
        );
        assert_eq!(
            p.checks,
            [
                (Some("ads_title_not_empty".to_owned()), "trim(title) <> ''".to_owned()),
                (None, "price >= 0".to_owned()),
                (None, "length(title) < 100".to_owned()),
            ]
        );
        assert_eq!(p.autoincrement.as_deref(), Some("id"));
        assert_eq!(p.generated.get("total"), Some(&("price * 2".to_owned(), true)));
        assert_eq!(p.fk_names, [("ads_user_fk".to_owned(), vec!["user_id".to_owned()])]);
        assert_eq!(p.unique_names, [("ads_pair".to_owned(), vec!["title".to_owned(), "price".to_owned()])]);
    }

    #[test]
    fn create_index_text_yields_keys_and_predicate() {
        let (keys, pred) = parse_create_index("CREATE INDEX i ON t (a DESC, lower(b))  WHERE  a > 1");
        assert_eq!(keys, ["a DESC", "lower(b)"]);
        assert_eq!(pred.as_deref(), Some("a > 1"));
        assert_eq!(strip_direction("lower(b) asc"), "lower(b)");
    }
}
