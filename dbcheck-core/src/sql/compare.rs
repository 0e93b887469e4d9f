//! The normalized form in which a static schema and a replayed one are compared.
//!
//! Static interpretation keeps expressions as written; the server prints them canonically
//! (PostgreSQL adds casts and parentheses: `CHECK (price >= 0)` reads back as
//! `CHECK ((price >= (0)::numeric))`). Offline we cannot type-check expressions, so both sides are
//! reduced to a comparison form that drops exactly what the server adds: parentheses, `::type`
//! casts, quotes around numeric literals, identifier quotes, letter case outside strings,
//! `TRIM(BOTH FROM x)` for `trim(x)` and `!=` for `<>`. PostgreSQL view, routine and trigger
//! bodies are compared by identity only (the server rewrites them entirely); SQLite stores them as
//! written, so there they are compared in full.

use super::lexer::{Kind, tokenize};
use crate::db::Dialect;
use crate::schema::Schema;

/// `schema` with every expression in comparison form (see the module docs).
pub fn comparable(schema: &Schema) -> Schema {
    let mut s = schema.clone();
    for t in s.tables.values_mut() {
        for c in &mut t.columns {
            c.default = c.default.as_deref().map(comparable_expression);
            if let Some(g) = c.generated.as_mut() {
                g.expression = comparable_expression(&g.expression);
            }
        }
        for ch in t.checks.values_mut() {
            ch.expression = comparable_expression(&ch.expression);
        }
        for ix in t.indexes.values_mut() {
            for e in ix.columns.iter_mut().chain(ix.include.iter_mut()).chain(ix.predicate.iter_mut()) {
                *e = comparable_expression(e);
            }
        }
    }
    if s.dialect == Dialect::Postgres {
        for v in s.views.values_mut() {
            v.definition.clear();
            v.definition_hash.clear();
        }
        for f in s.functions.values_mut() {
            f.definition.clear();
            f.definition_hash.clear();
        }
        for t in s.triggers.values_mut() {
            t.definition.clear();
            t.definition_hash.clear();
        }
    }
    s
}

/// Keep only objects in the default namespace and in `namespaces` (what introspection was asked
/// to read).
pub fn restrict_namespaces(schema: &Schema, namespaces: &[String]) -> Schema {
    let keep = |ns: &Option<String>| ns.as_ref().is_none_or(|n| namespaces.contains(n));
    let mut s = schema.clone();
    s.tables.retain(|_, t| keep(&t.schema));
    s.enums.retain(|_, e| keep(&e.schema));
    s.sequences.retain(|_, q| keep(&q.schema));
    s.views.retain(|_, v| keep(&v.schema));
    s.functions.retain(|_, f| keep(&f.schema));
    let tables: Vec<String> = s.tables.keys().cloned().collect();
    s.triggers.retain(|_, t| tables.contains(&t.table));
    s
}

/// An expression in comparison form.
pub fn comparable_expression(text: &str) -> String {
    let toks = tokenize(text);
    let mut out: Vec<String> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if t.is_punct("(") || t.is_punct(")") {
            i += 1;
            continue;
        }
        if t.is_punct("::") {
            i += 1;
            i = skip_type(&toks, i);
            continue;
        }
        let raw = text.get(t.start..t.end).unwrap_or("");
        let word = match t.kind {
            Kind::Word => {
                let w = t.text.to_lowercase();
                if w == "both"
                    && out.last().is_some_and(|p| p == "trim")
                    && toks.get(i + 1).is_some_and(|n| n.is("FROM"))
                {
                    i += 2;
                    continue;
                }
                w
            }
            Kind::Quoted if raw.starts_with('[') => raw.to_owned(),
            Kind::Quoted => t.text.clone(),
            Kind::Str => {
                let inner = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
                match inner {
                    Some(n) if !n.is_empty() && n.parse::<f64>().is_ok() => n.to_owned(),
                    _ => raw.to_owned(),
                }
            }
            Kind::Num => raw.to_owned(),
            Kind::Punct if raw == "!=" => "<>".to_owned(),
            // A unary minus belongs to its number (the server prints `'-1'::integer`).
            Kind::Punct
                if raw == "-"
                    && toks.get(i + 1).is_some_and(|n| n.kind == Kind::Num)
                    && out.last().is_none_or(|p| !p.chars().any(|c| c.is_alphanumeric() || c == '\'')) =>
            {
                i += 1;
                format!("-{}", toks[i].text)
            }
            Kind::Punct => raw.to_owned(),
        };
        out.push(word);
        i += 1;
    }
    out.join(" ")
}

/// Past a type name after `::`: words (`character varying`, `timestamp with time zone`), a
/// qualifier, a modifier group and array brackets.
fn skip_type(toks: &[super::lexer::Token], mut i: usize) -> usize {
    const MORE: [&str; 6] = ["varying", "precision", "with", "without", "time", "zone"];
    if toks.get(i).is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Quoted)) {
        i += 1;
    }
    loop {
        match toks.get(i) {
            Some(t) if t.is_punct(".") => i += 2,
            Some(t) if t.kind == Kind::Word && MORE.iter().any(|m| t.is(m)) => i += 1,
            Some(t) if t.is_punct("(") && toks.get(i + 1).is_some_and(|n| n.kind == Kind::Num) => {
                while i < toks.len() && !toks[i].is_punct(")") {
                    i += 1;
                }
                i += 1;
            }
            Some(t) if t.kind == Kind::Quoted && t.text.is_empty() => i += 1,
            _ => return i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_spellings_compare_equal_to_source() {
        let c = comparable_expression;
        assert_eq!(c("(price >= (0)::numeric)"), c("price >= 0"));
        assert_eq!(c("(slug <> ''::text)"), c("slug <> ''"));
        assert_eq!(c("TRIM(BOTH FROM title) <> ''::text"), c("trim(title) <> ''"));
        assert_eq!(c("'-1'::integer"), c("-1"));
        assert_eq!(c("'{}'::text[]"), c("'{}'"));
        assert_eq!(c("lower((email)::text)"), c("lower(email)"));
        assert_eq!(c("'x'::character varying"), c("'x'"));
        assert_eq!(c("a != b"), c("a <> b"));
        assert_ne!(c("a > 1"), c("a > 2"));
        assert_ne!(c("'A'"), c("'a'"));
    }
}
