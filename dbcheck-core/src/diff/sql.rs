//! SQL generation: the ordered statements that turn schema `a` into schema `b`, per dialect.
//!
//! Order (PostgreSQL, MySQL): drop triggers, views and foreign keys that go or change; drop
//! indexes and constraints that go or change; drop tables; create/alter enums and sequences;
//! create tables; add, alter and drop columns; add constraints and indexes; add foreign keys
//! (`NOT VALID` kept); drop enums and sequences; create functions, views (by dependency) and
//! triggers. SQLite rebuilds a table (create new, copy, drop, rename) whenever `ALTER TABLE`
//! cannot make the change. Renames are never guessed: a renamed object is a drop and a create,
//! and the drop is marked destructive.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::db::Dialect;
use crate::schema::{Column, ForeignKey, Identity, Index, Schema, Table, View};

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The statement, without a trailing semicolon.
    pub sql: String,
    /// It drops data (a table, a column) or may lose it (a type change).
    pub destructive: bool,
}

/// An ordered script.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Script {
    /// The dialect it is written in.
    pub dialect: Option<Dialect>,
    /// The statements in order.
    pub steps: Vec<Step>,
}

impl Script {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether any step is destructive.
    pub fn is_destructive(&self) -> bool {
        self.steps.iter().any(|s| s.destructive)
    }

    /// The script as SQL text: one statement per paragraph, destructive ones preceded by a
    /// `-- destructive` comment.
    pub fn to_sql(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            if s.destructive {
                out.push_str("-- destructive: drops or rewrites data\n");
            }
            let _ = writeln!(out, "{};\n", s.sql.trim_end().trim_end_matches(';'));
        }
        out
    }

    fn push(&mut self, sql: impl Into<String>) {
        self.steps.push(Step { sql: sql.into(), destructive: false });
    }

    fn destroy(&mut self, sql: impl Into<String>) {
        self.steps.push(Step { sql: sql.into(), destructive: true });
    }
}

/// The statements that create `schema` from nothing.
pub fn create_statements(schema: &Schema) -> Script {
    migration_script(&Schema::empty(schema.dialect), schema)
}

/// The ordered SQL that turns a database whose schema is `a` into one whose schema is `b`, in
/// `b`'s dialect.
pub fn migration_script(a: &Schema, b: &Schema) -> Script {
    let g = Gen { d: b.dialect, a, b };
    let mut s = Script { dialect: Some(b.dialect), steps: Vec::new() };
    match b.dialect {
        Dialect::Sqlite => g.sqlite(&mut s),
        _ => g.server(&mut s),
    }
    s
}

struct Gen<'a> {
    d: Dialect,
    a: &'a Schema,
    b: &'a Schema,
}

/// Whether `text` is a bare identifier (so it can be quoted as a column name).
fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// Split `key DESC NULLS FIRST` into the key and its direction suffix.
fn split_direction(key: &str) -> (&str, &str) {
    let upper = key.to_ascii_uppercase();
    for suffix in [" DESC NULLS FIRST", " DESC NULLS LAST", " NULLS FIRST", " NULLS LAST", " DESC", " ASC"] {
        if upper.ends_with(suffix) {
            let cut = key.len() - suffix.len();
            return (&key[..cut], &key[cut..]);
        }
    }
    (key, "")
}

impl Gen<'_> {
    fn q(&self, ident: &str) -> String {
        self.d.quote_ident(ident)
    }

    /// A qualified object name, quoted.
    fn qn(&self, schema: Option<&str>, name: &str) -> String {
        match schema {
            Some(s) => format!("{}.{}", self.q(s), self.q(name)),
            None => self.q(name),
        }
    }

    fn qt(&self, t: &Table) -> String {
        self.qn(t.schema.as_deref(), &t.name)
    }

    /// A table key (`name` or `schema.name`) quoted, using whichever schema knows the table.
    fn q_key(&self, key: &str) -> String {
        if let Some(t) = self.b.tables.get(key).or_else(|| self.a.tables.get(key)) {
            return self.qt(t);
        }
        match key.split_once('.') {
            Some((s, n)) if self.d == Dialect::Postgres => self.qn(Some(s), n),
            _ => self.q(key),
        }
    }

    fn cols(&self, cols: &[String]) -> String {
        cols.iter().map(|c| self.q(c)).collect::<Vec<_>>().join(", ")
    }

    fn default_sql(&self, d: &str) -> String {
        if self.d != Dialect::Sqlite {
            return d.to_owned();
        }
        // SQLite stores `DEFAULT (expr)` without the parentheses; literals need none.
        let upper = d.to_ascii_uppercase();
        let literal = d.parse::<f64>().is_ok()
            || (d.starts_with('\'') && d.ends_with('\'') && d[1..d.len() - 1].replace("''", "").find('\'').is_none())
            || matches!(
                upper.as_str(),
                "NULL" | "TRUE" | "FALSE" | "CURRENT_TIMESTAMP" | "CURRENT_DATE" | "CURRENT_TIME"
            )
            || (d.starts_with("X'") && d.ends_with('\''));
        if literal { d.to_owned() } else { format!("({d})") }
    }

    /// A column definition for CREATE TABLE / ADD COLUMN.
    fn column_def(&self, t: &Table, c: &Column) -> String {
        let mut s = format!("{} ", self.q(&c.name));
        let ty = if self.d == Dialect::Postgres && c.auto_increment {
            match c.data_type.as_str() {
                "bigint" => "bigserial".to_owned(),
                "smallint" => "smallserial".to_owned(),
                _ => "serial".to_owned(),
            }
        } else {
            c.data_type.clone()
        };
        s.push_str(&ty);
        if self.d == Dialect::Sqlite
            && c.auto_increment
            && t.primary_key.as_ref().is_some_and(|p| p.columns.len() == 1 && p.columns[0] == c.name)
        {
            s.push_str(" PRIMARY KEY AUTOINCREMENT");
        }
        if let Some(g) = &c.generated {
            let kind = match (self.d, g.stored) {
                (_, true) => " STORED",
                (Dialect::Postgres, false) => " STORED",
                (_, false) => " VIRTUAL",
            };
            let _ = write!(s, " GENERATED ALWAYS AS ({}){kind}", g.expression);
        }
        if let Some(i) = c.identity {
            s.push_str(match i {
                Identity::Always => " GENERATED ALWAYS AS IDENTITY",
                Identity::ByDefault => " GENERATED BY DEFAULT AS IDENTITY",
            });
        }
        // MariaDB takes no NULL / NOT NULL on a generated column.
        let generated_mysql = self.d == Dialect::Mysql && c.generated.is_some();
        if !c.nullable && !generated_mysql {
            s.push_str(" NOT NULL");
        } else if self.d == Dialect::Mysql && !generated_mysql {
            s.push_str(" NULL");
        }
        if let Some(d) = &c.default {
            let _ = write!(s, " DEFAULT {}", self.default_sql(d));
        }
        if self.d == Dialect::Mysql && c.auto_increment {
            s.push_str(" AUTO_INCREMENT");
        }
        s
    }

    /// MySQL: an auto-increment column must be a key the moment it exists, so a new one that is
    /// the whole new primary key is added with the key inline.
    fn mysql_inline_pk(&self, ta: &Table, tb: &Table, c: &Column) -> bool {
        self.d == Dialect::Mysql
            && c.auto_increment
            && ta.primary_key.is_none()
            && tb.primary_key.as_ref().is_some_and(|p| p.columns.len() == 1 && p.columns[0] == c.name)
    }

    fn deferrable(deferrable: bool, initially_deferred: bool) -> &'static str {
        match (deferrable, initially_deferred) {
            (true, true) => " DEFERRABLE INITIALLY DEFERRED",
            (true, false) => " DEFERRABLE",
            _ => "",
        }
    }

    fn constraint_prefix(&self, name: &str) -> String {
        if self.d == Dialect::Sqlite
            && (name.starts_with("check(") || name.starts_with("fk(") || name.starts_with("unique("))
        {
            String::new()
        } else {
            format!("CONSTRAINT {} ", self.q(name))
        }
    }

    fn fk_body(&self, fk: &ForeignKey) -> String {
        let mut s = format!("FOREIGN KEY ({}) REFERENCES {}", self.cols(&fk.columns), self.q_key(&fk.references));
        if !fk.referenced_columns.is_empty() {
            let _ = write!(s, " ({})", self.cols(&fk.referenced_columns));
        }
        if fk.on_update != crate::schema::FkAction::NoAction {
            let _ = write!(s, " ON UPDATE {}", fk.on_update.sql());
        }
        if fk.on_delete != crate::schema::FkAction::NoAction {
            let _ = write!(s, " ON DELETE {}", fk.on_delete.sql());
        }
        s.push_str(Self::deferrable(fk.deferrable, fk.initially_deferred));
        s
    }

    /// `CREATE TABLE` with columns, primary key, unique and valid check constraints (and, on
    /// SQLite, foreign keys and every check: it cannot add them later).
    fn create_table(&self, t: &Table, name_override: Option<&str>) -> String {
        let mut items: Vec<String> = t.columns.iter().map(|c| format!("    {}", self.column_def(t, c))).collect();
        if let Some(pk) = &t.primary_key {
            let inline = self.d == Dialect::Sqlite
                && pk.columns.len() == 1
                && t.column(&pk.columns[0]).is_some_and(|c| c.auto_increment);
            if !inline {
                let prefix = match (&pk.name, self.d) {
                    (Some(n), Dialect::Postgres) => format!("CONSTRAINT {} ", self.q(n)),
                    _ => String::new(),
                };
                items.push(format!("    {prefix}PRIMARY KEY ({})", self.cols(&pk.columns)));
            }
        }
        if self.d != Dialect::Mysql {
            for (n, u) in &t.uniques {
                items.push(format!(
                    "    {}UNIQUE ({}){}",
                    self.constraint_prefix(n),
                    self.cols(&u.columns),
                    Self::deferrable(u.deferrable, u.initially_deferred)
                ));
            }
        }
        for (n, c) in &t.checks {
            if c.valid || self.d == Dialect::Sqlite {
                let expr =
                    if self.d == Dialect::Postgres { c.expression.clone() } else { format!("({})", c.expression) };
                items.push(format!("    {}CHECK {expr}", self.constraint_prefix(n)));
            }
        }
        if self.d == Dialect::Sqlite {
            for (n, fk) in &t.foreign_keys {
                items.push(format!("    {}{}", self.constraint_prefix(n), self.fk_body(fk)));
            }
        }
        let name = match name_override {
            Some(n) => self.q(n),
            None => self.qt(t),
        };
        format!("CREATE TABLE {name} (\n{}\n)", items.join(",\n"))
    }

    fn index_key(&self, key: &str) -> String {
        let (base, dir) = split_direction(key);
        if is_identifier(base) {
            format!("{}{dir}", self.q(base))
        } else if self.d == Dialect::Postgres && !(base.starts_with('(') && base.ends_with(')')) {
            format!("({base}){dir}")
        } else {
            key.to_owned()
        }
    }

    fn create_index(&self, t: &Table, name: &str, i: &Index) -> String {
        let unique = if i.unique { "UNIQUE " } else { "" };
        let keys = i.columns.iter().map(|k| self.index_key(k)).collect::<Vec<_>>().join(", ");
        match self.d {
            Dialect::Postgres => {
                let mut s = format!("CREATE {unique}INDEX {} ON {}", self.q(name), self.qt(t));
                if let Some(m) = &i.method {
                    let _ = write!(s, " USING {m}");
                }
                let _ = write!(s, " ({keys})");
                if !i.include.is_empty() {
                    let _ = write!(s, " INCLUDE ({})", self.cols(&i.include));
                }
                if let Some(p) = &i.predicate {
                    let _ = write!(s, " WHERE {p}");
                }
                s
            }
            Dialect::Sqlite => {
                let mut s = format!("CREATE {unique}INDEX {} ON {} ({keys})", self.q(name), self.qt(t));
                if let Some(p) = &i.predicate {
                    let _ = write!(s, " WHERE {p}");
                }
                s
            }
            Dialect::Mysql => {
                let kind = match i.method.as_deref() {
                    Some("fulltext") => "FULLTEXT ",
                    Some("spatial") => "SPATIAL ",
                    _ => unique,
                };
                let keys = i
                    .columns
                    .iter()
                    .map(|k| {
                        let (base, dir) = split_direction(k);
                        match base.split_once('(') {
                            Some((col, len)) if is_identifier(col) => format!("{}({len}{dir}", self.q(col)),
                            _ => self.index_key(k),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("CREATE {kind}INDEX {} ON {} ({keys})", self.q(name), self.qt(t))
            }
        }
    }

    fn drop_index(&self, t: &Table, name: &str) -> String {
        match self.d {
            Dialect::Postgres => format!("DROP INDEX {}", self.qn(t.schema.as_deref(), name)),
            Dialect::Sqlite => format!("DROP INDEX {}", self.q(name)),
            Dialect::Mysql => format!("DROP INDEX {} ON {}", self.q(name), self.qt(t)),
        }
    }

    fn create_view(&self, v: &View) -> String {
        match self.d {
            Dialect::Sqlite => v.definition.clone(),
            _ => format!(
                "CREATE {}VIEW {} AS {}",
                if v.materialized { "MATERIALIZED " } else { "" },
                self.qn(v.schema.as_deref(), &v.name),
                v.definition.trim().trim_end_matches(';')
            ),
        }
    }

    fn drop_view(&self, v: &View) -> String {
        format!(
            "DROP {}VIEW {}",
            if v.materialized { "MATERIALIZED " } else { "" },
            self.qn(v.schema.as_deref(), &v.name)
        )
    }

    /// Views in `keys`, ordered so that a view comes after the views its definition names.
    fn view_order<'v>(&self, views: &'v BTreeMap<String, View>, keys: &BTreeSet<String>) -> Vec<&'v View> {
        let mut done: Vec<&View> = Vec::new();
        let mut left: Vec<&View> = keys.iter().filter_map(|k| views.get(k)).collect();
        while !left.is_empty() {
            let before = left.len();
            let mut i = 0;
            while i < left.len() {
                let v = left[i];
                let waits = left.iter().any(|o| o.name != v.name && mentions(&v.definition, &o.name));
                if waits {
                    i += 1;
                } else {
                    done.push(left.remove(i));
                }
            }
            if left.len() == before {
                done.append(&mut left);
            }
        }
        done
    }

    /// Tables whose change forces dependent views to be rebuilt (a column changes or goes).
    fn reshaped_tables(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (k, ta) in &self.a.tables {
            match self.b.tables.get(k) {
                None => {
                    out.insert(ta.name.clone());
                }
                Some(tb) => {
                    let changed = ta.columns.iter().any(|c| tb.column(&c.name).is_none_or(|d| d != c));
                    if changed || (self.d == Dialect::Sqlite && self.needs_rebuild(ta, tb)) {
                        out.insert(ta.name.clone());
                    }
                }
            }
        }
        out
    }

    /// Drop the views that go, change, or for which `also` holds, dependents first; returns their keys.
    fn drop_views(&self, s: &mut Script, also: impl Fn(&View) -> bool) -> BTreeSet<String> {
        let (a, b) = (self.a, self.b);
        let dropped: BTreeSet<String> =
            a.views.iter().filter(|(k, v)| b.views.get(*k) != Some(*v) || also(v)).map(|(k, _)| k.clone()).collect();
        for v in self.view_order(&a.views, &dropped).into_iter().rev() {
            s.push(self.drop_view(v));
        }
        dropped
    }

    /// Create the views that are new or changed, and those `dropped` earlier, by dependency.
    fn create_views(&self, s: &mut Script, dropped: &BTreeSet<String>) {
        let (a, b) = (self.a, self.b);
        let views_to_create: BTreeSet<String> = b
            .views
            .iter()
            .filter(|(k, v)| a.views.get(*k) != Some(*v) || dropped.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for v in self.view_order(&b.views, &views_to_create) {
            s.push(self.create_view(v));
        }
    }

    /// Drop the tables that go.
    fn drop_tables(&self, s: &mut Script) {
        for (k, ta) in &self.a.tables {
            if !self.b.tables.contains_key(k) {
                s.destroy(format!("DROP TABLE {}", self.qt(ta)));
            }
        }
    }

    /// Drop the indexes of `ta` that go or change in `tb`.
    fn drop_indexes(&self, s: &mut Script, ta: &Table, tb: &Table) {
        for (n, ia) in &ta.indexes {
            if tb.indexes.get(n) != Some(ia) {
                s.push(self.drop_index(ta, n));
            }
        }
    }

    /// Create the indexes of `tb` that `ta` lacks or has otherwise (every one without `ta`).
    fn create_indexes(&self, s: &mut Script, ta: Option<&Table>, tb: &Table) {
        for (n, i) in &tb.indexes {
            if ta.and_then(|ta| ta.indexes.get(n)) != Some(i) {
                s.push(self.create_index(tb, n, i));
            }
        }
    }

    /// Drop the columns of `ta` that `tb` (quoted as `t`) no longer has.
    fn drop_columns(&self, s: &mut Script, t: &str, ta: &Table, tb: &Table) {
        for ca in &ta.columns {
            if tb.column(&ca.name).is_none() {
                s.destroy(format!("ALTER TABLE {t} DROP COLUMN {}", self.q(&ca.name)));
            }
        }
    }

    // ---------------------------------------------------------------- PostgreSQL and MySQL

    fn server(&self, s: &mut Script) {
        let (a, b, d) = (self.a, self.b, self.d);
        let reshaped = self.reshaped_tables();

        // Triggers that go or change, and every trigger on a table that goes.
        for (k, t) in &a.triggers {
            if b.triggers.get(k) != Some(t) {
                s.push(match d {
                    Dialect::Postgres => format!("DROP TRIGGER {} ON {}", self.q(&t.name), self.q_key(&t.table)),
                    _ => format!("DROP TRIGGER {}", self.q(&t.name)),
                });
            }
        }
        // Views that go, change, or read a table that is reshaped.
        let views_to_drop = self.drop_views(s, |v| reshaped.iter().any(|t| mentions(&v.definition, t)));
        // Foreign keys that go or change, or whose columns change type.
        let type_changed = |table: &str, cols: &[String]| {
            let (Some(ta), Some(tb)) = (a.tables.get(table), b.tables.get(table)) else { return false };
            cols.iter().any(|c| match (ta.column(c), tb.column(c)) {
                (Some(x), Some(y)) => x.data_type != y.data_type,
                _ => true,
            })
        };
        // A foreign key rests on the referenced table's key or unique index: when that changes, the
        // key must be dropped before and added after.
        let key_changed = |table: &str| {
            let (Some(ta), Some(tb)) = (a.tables.get(table), b.tables.get(table)) else { return false };
            ta.primary_key != tb.primary_key
                || ta.uniques != tb.uniques
                || ta.indexes.iter().any(|(n, i)| i.unique && tb.indexes.get(n) != Some(i))
        };
        let mut fks_to_add: Vec<(&Table, &String, &ForeignKey)> = Vec::new();
        let mut fks_to_validate: Vec<(&Table, &String)> = Vec::new();
        for (k, ta) in &a.tables {
            let tb = b.tables.get(k);
            for (n, fa) in &ta.foreign_keys {
                let fb = tb.and_then(|t| t.foreign_keys.get(n));
                let rebuilt = type_changed(k, &fa.columns)
                    || type_changed(&fa.references, &fa.referenced_columns)
                    || key_changed(&fa.references);
                let keep = match fb {
                    Some(fb) if !rebuilt && ForeignKey { valid: fb.valid, ..fa.clone() } == *fb => {
                        if !fa.valid && fb.valid {
                            fks_to_validate.push((ta, n));
                        }
                        fa.valid || !fb.valid
                    }
                    _ => false,
                };
                if keep {
                    continue;
                }
                // A dropped table's foreign keys go with it, except those into other dropped
                // tables, which would block their drop.
                if tb.is_none() && (fa.references == *k || b.tables.contains_key(&fa.references)) {
                    continue;
                }
                s.push(match d {
                    Dialect::Mysql => format!("ALTER TABLE {} DROP FOREIGN KEY {}", self.qt(ta), self.q(n)),
                    _ => format!("ALTER TABLE {} DROP CONSTRAINT {}", self.qt(ta), self.q(n)),
                });
            }
        }
        for (k, tb) in &b.tables {
            let ta = a.tables.get(k);
            for (n, fb) in &tb.foreign_keys {
                let fa = ta.and_then(|t| t.foreign_keys.get(n));
                let rebuilt = type_changed(k, &fb.columns)
                    || type_changed(&fb.references, &fb.referenced_columns)
                    || key_changed(&fb.references);
                let unchanged = fa.is_some_and(|fa| {
                    !rebuilt && ForeignKey { valid: fb.valid, ..fa.clone() } == *fb && (fa.valid || !fb.valid)
                });
                if !unchanged {
                    fks_to_add.push((tb, n, fb));
                }
            }
        }
        // Indexes and constraints that go or change, on tables that stay.
        let mut checks_to_validate: Vec<(&Table, &String)> = Vec::new();
        for (k, ta) in &a.tables {
            let Some(tb) = b.tables.get(k) else { continue };
            self.drop_indexes(s, ta, tb);
            let drop_constraint = |n: &str| format!("ALTER TABLE {} DROP CONSTRAINT {}", self.qt(ta), self.q(n));
            for (n, ua) in &ta.uniques {
                if tb.uniques.get(n) != Some(ua) {
                    s.push(drop_constraint(n));
                }
            }
            for (n, ca) in &ta.checks {
                match tb.checks.get(n) {
                    Some(cb) if cb.expression == ca.expression && (ca.valid || !cb.valid) && ca.valid == cb.valid => {}
                    Some(cb) if cb.expression == ca.expression && !ca.valid && cb.valid => {
                        checks_to_validate.push((tb, n))
                    }
                    _ => s.push(drop_constraint(n)),
                }
            }
            if ta.primary_key != tb.primary_key
                && let Some(pk) = &ta.primary_key
            {
                s.push(match (d, &pk.name) {
                    (Dialect::Postgres, Some(n)) => {
                        format!("ALTER TABLE {} DROP CONSTRAINT {}", self.qt(ta), self.q(n))
                    }
                    _ => format!("ALTER TABLE {} DROP PRIMARY KEY", self.qt(ta)),
                });
            }
        }
        // Tables that go.
        self.drop_tables(s);
        // Functions that go (their triggers are gone already).
        for (k, f) in &a.functions {
            if !b.functions.contains_key(k) && d == Dialect::Postgres {
                s.push(format!(
                    "DROP {} {}({})",
                    f.kind.to_ascii_uppercase(),
                    self.qn(f.schema.as_deref(), &f.name),
                    f.arguments
                ));
            }
        }
        // Namespaces that are new (before the types and tables in them).
        let namespaces = |x: &Schema| -> BTreeSet<String> {
            x.tables
                .values()
                .filter_map(|t| t.schema.clone())
                .chain(x.enums.values().filter_map(|e| e.schema.clone()))
                .collect()
        };
        if d == Dialect::Postgres {
            for ns in namespaces(b).difference(&namespaces(a)) {
                s.push(format!("CREATE SCHEMA IF NOT EXISTS {}", self.q(ns)));
            }
        }
        // Enums and sequences that are new or change.
        let mut enums_recreated: Vec<&str> = Vec::new();
        for (k, e) in &b.enums {
            let name = self.qn(e.schema.as_deref(), &e.name);
            match a.enums.get(k) {
                None => s.push(format!(
                    "CREATE TYPE {name} AS ENUM ({})",
                    e.labels.iter().map(|l| d.quote_literal(l)).collect::<Vec<_>>().join(", ")
                )),
                Some(old) if old.labels == e.labels => {}
                Some(old) if is_subsequence(&old.labels, &e.labels) => {
                    for (i, l) in e.labels.iter().enumerate() {
                        if old.labels.contains(l) {
                            continue;
                        }
                        let place = match e.labels[i + 1..].iter().find(|n| old.labels.contains(n)) {
                            Some(next) => format!(" BEFORE {}", d.quote_literal(next)),
                            None => String::new(),
                        };
                        s.push(format!("ALTER TYPE {name} ADD VALUE {}{place}", d.quote_literal(l)));
                    }
                }
                Some(_) => {
                    // Labels removed or reordered: PostgreSQL cannot; recreate the type.
                    let old_name = self.qn(e.schema.as_deref(), &format!("{}__dbcheck_old", e.name));
                    s.push(format!("ALTER TYPE {name} RENAME TO {}", self.q(&format!("{}__dbcheck_old", e.name))));
                    s.push(format!(
                        "CREATE TYPE {name} AS ENUM ({})",
                        e.labels.iter().map(|l| d.quote_literal(l)).collect::<Vec<_>>().join(", ")
                    ));
                    for t in b.tables.values() {
                        for c in t.columns.iter().filter(|c| c.data_type == e.name) {
                            if c.default.is_some() {
                                s.push(format!(
                                    "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                                    self.qt(t),
                                    self.q(&c.name)
                                ));
                            }
                            s.destroy(format!(
                                "ALTER TABLE {} ALTER COLUMN {} TYPE {name} USING {}::text::{name}",
                                self.qt(t),
                                self.q(&c.name),
                                self.q(&c.name)
                            ));
                            if let Some(def) = &c.default {
                                s.push(format!(
                                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {def}",
                                    self.qt(t),
                                    self.q(&c.name)
                                ));
                            }
                        }
                    }
                    s.push(format!("DROP TYPE {old_name}"));
                    enums_recreated.push(&e.name);
                }
            }
        }
        for (k, q) in &b.sequences {
            let name = self.qn(q.schema.as_deref(), &q.name);
            let opts = format!(
                "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} {}",
                q.data_type,
                q.increment,
                q.min_value,
                q.max_value,
                q.start,
                if q.cycle { "CYCLE" } else { "NO CYCLE" }
            );
            match a.sequences.get(k) {
                None => s.push(format!("CREATE SEQUENCE {name} {opts}")),
                Some(old) if old == q => {}
                Some(_) => s.push(format!("ALTER SEQUENCE {name} {opts}")),
            }
        }
        // Tables that are new.
        for (k, tb) in &b.tables {
            if !a.tables.contains_key(k) {
                s.push(self.create_table(tb, None));
            }
        }
        // Columns of tables that stay.
        for (k, tb) in &b.tables {
            let Some(ta) = a.tables.get(k) else { continue };
            let t = self.qt(tb);
            for cb in &tb.columns {
                match ta.column(&cb.name) {
                    None if self.mysql_inline_pk(ta, tb, cb) => {
                        s.push(format!("ALTER TABLE {t} ADD COLUMN {} PRIMARY KEY", self.column_def(tb, cb)))
                    }
                    None => s.push(format!("ALTER TABLE {t} ADD COLUMN {}", self.column_def(tb, cb))),
                    Some(ca) if ca == cb => {}
                    Some(ca) if d == Dialect::Mysql => {
                        let stmt = format!("ALTER TABLE {t} MODIFY COLUMN {}", self.column_def(tb, cb));
                        if ca.data_type != cb.data_type { s.destroy(stmt) } else { s.push(stmt) }
                    }
                    Some(ca) => self.alter_pg_column(s, tb, ca, cb, enums_recreated.contains(&cb.data_type.as_str())),
                }
            }
            self.drop_columns(s, &t, ta, tb);
        }
        // Constraints and indexes that are new or changed.
        for (k, tb) in &b.tables {
            let ta = a.tables.get(k);
            let t = self.qt(tb);
            if let Some(ta) = ta {
                let inline = tb.columns.iter().any(|c| ta.column(&c.name).is_none() && self.mysql_inline_pk(ta, tb, c));
                if ta.primary_key != tb.primary_key
                    && !inline
                    && let Some(pk) = &tb.primary_key
                {
                    let prefix = match (&pk.name, d) {
                        (Some(n), Dialect::Postgres) => format!("CONSTRAINT {} ", self.q(n)),
                        _ => String::new(),
                    };
                    s.push(format!("ALTER TABLE {t} ADD {prefix}PRIMARY KEY ({})", self.cols(&pk.columns)));
                }
                for (n, u) in &tb.uniques {
                    if ta.uniques.get(n) != Some(u) {
                        s.push(format!(
                            "ALTER TABLE {t} ADD CONSTRAINT {} UNIQUE ({}){}",
                            self.q(n),
                            self.cols(&u.columns),
                            Self::deferrable(u.deferrable, u.initially_deferred)
                        ));
                    }
                }
            }
            for (n, c) in &tb.checks {
                let existing = ta.and_then(|ta| ta.checks.get(n));
                let needs_add = match existing {
                    None => ta.is_some() || !c.valid,
                    Some(old) => old.expression != c.expression || (old.valid && !c.valid),
                };
                if needs_add {
                    let expr =
                        if d == Dialect::Postgres { c.expression.clone() } else { format!("({})", c.expression) };
                    s.push(format!(
                        "ALTER TABLE {t} ADD CONSTRAINT {} CHECK {expr}{}",
                        self.q(n),
                        if c.valid { "" } else { " NOT VALID" }
                    ));
                }
            }
            self.create_indexes(s, ta, tb);
        }
        for (t, n) in checks_to_validate {
            s.push(format!("ALTER TABLE {} VALIDATE CONSTRAINT {}", self.qt(t), self.q(n)));
        }
        // Foreign keys last: every table and key they need exists now.
        for (t, n, fk) in fks_to_add {
            s.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}{}",
                self.qt(t),
                self.q(n),
                self.fk_body(fk),
                if fk.valid || d != Dialect::Postgres { "" } else { " NOT VALID" }
            ));
        }
        for (t, n) in fks_to_validate {
            s.push(format!("ALTER TABLE {} VALIDATE CONSTRAINT {}", self.qt(t), self.q(n)));
        }
        // Enums and sequences that go (after the tables that used them).
        for (k, e) in &a.enums {
            if !b.enums.contains_key(k) {
                s.push(format!("DROP TYPE {}", self.qn(e.schema.as_deref(), &e.name)));
            }
        }
        for (k, q) in &a.sequences {
            if !b.sequences.contains_key(k) {
                s.push(format!("DROP SEQUENCE {}", self.qn(q.schema.as_deref(), &q.name)));
            }
        }
        // Functions, views and triggers that are new or changed.
        for (k, f) in &b.functions {
            if a.functions.get(k) != Some(f) {
                if d == Dialect::Postgres {
                    s.push(f.definition.clone());
                } else {
                    s.push(format!(
                        "-- {} {} must be created by hand (definition {})",
                        f.kind, f.name, f.definition_hash
                    ));
                }
            }
        }
        self.create_views(s, &views_to_drop);
        for (k, t) in &b.triggers {
            if a.triggers.get(k) != Some(t) {
                s.push(t.definition.clone());
            }
        }
    }

    /// `ALTER COLUMN` steps for one PostgreSQL column.
    fn alter_pg_column(&self, s: &mut Script, t: &Table, ca: &Column, cb: &Column, enum_recreated: bool) {
        let tq = self.qt(t);
        let c = self.q(&cb.name);
        if ca.generated != cb.generated || ca.auto_increment != cb.auto_increment && ca.auto_increment {
            // A generation expression cannot be altered, nor a serial undone cleanly: re-add it.
            s.destroy(format!("ALTER TABLE {tq} DROP COLUMN {c}"));
            s.push(format!("ALTER TABLE {tq} ADD COLUMN {}", self.column_def(t, cb)));
            return;
        }
        if ca.identity.is_some() && cb.identity.is_none() {
            s.push(format!("ALTER TABLE {tq} ALTER COLUMN {c} DROP IDENTITY"));
        }
        if ca.default != cb.default && ca.default.is_some() {
            s.push(format!("ALTER TABLE {tq} ALTER COLUMN {c} DROP DEFAULT"));
        }
        if ca.data_type != cb.data_type && !enum_recreated {
            s.destroy(format!("ALTER TABLE {tq} ALTER COLUMN {c} TYPE {} USING {c}::{}", cb.data_type, cb.data_type));
        }
        if ca.nullable != cb.nullable {
            s.push(format!("ALTER TABLE {tq} ALTER COLUMN {c} {} NOT NULL", if cb.nullable { "DROP" } else { "SET" }));
        }
        if ca.default != cb.default
            && let Some(def) = &cb.default
        {
            s.push(format!("ALTER TABLE {tq} ALTER COLUMN {c} SET DEFAULT {def}"));
        }
        if !ca.auto_increment && cb.auto_increment {
            let seq = format!("{}_{}_seq", t.name, cb.name);
            let seq_q = self.qn(t.schema.as_deref(), &seq);
            s.push(format!("CREATE SEQUENCE {seq_q} AS {} OWNED BY {tq}.{c}", cb.data_type));
            s.push(format!("ALTER TABLE {tq} ALTER COLUMN {c} SET DEFAULT nextval({})", self.d.quote_literal(&seq_q)));
        }
        match (ca.identity, cb.identity) {
            (None, Some(i)) => s.push(format!(
                "ALTER TABLE {tq} ALTER COLUMN {c} ADD GENERATED {} AS IDENTITY",
                if i == Identity::Always { "ALWAYS" } else { "BY DEFAULT" }
            )),
            (Some(x), Some(y)) if x != y => s.push(format!(
                "ALTER TABLE {tq} ALTER COLUMN {c} SET GENERATED {}",
                if y == Identity::Always { "ALWAYS" } else { "BY DEFAULT" }
            )),
            _ => {}
        }
    }

    // ---------------------------------------------------------------- SQLite

    /// Whether SQLite needs a table rebuild to turn `ta` into `tb`.
    fn needs_rebuild(&self, ta: &Table, tb: &Table) -> bool {
        if ta.primary_key != tb.primary_key
            || ta.uniques != tb.uniques
            || ta.checks != tb.checks
            || ta.foreign_keys != tb.foreign_keys
        {
            return true;
        }
        for cb in &tb.columns {
            match ta.column(&cb.name) {
                Some(ca) if ca != cb => return true,
                Some(_) => {}
                // ADD COLUMN: no PK/UNIQUE, NOT NULL needs a default, the default must be constant,
                // and a generated column must be virtual.
                None => {
                    let constant_default = cb.default.as_deref().is_none_or(|d| {
                        self.default_sql(d) == d
                            && !d.eq_ignore_ascii_case("CURRENT_TIMESTAMP")
                            && !d.eq_ignore_ascii_case("CURRENT_DATE")
                            && !d.eq_ignore_ascii_case("CURRENT_TIME")
                    });
                    if cb.auto_increment
                        || (!cb.nullable && cb.default.is_none())
                        || !constant_default
                        || cb.generated.as_ref().is_some_and(|g| g.stored)
                    {
                        return true;
                    }
                }
            }
        }
        // DROP COLUMN refuses columns used by keys, indexes and constraints; rebuild then.
        for ca in &ta.columns {
            if tb.column(&ca.name).is_none() {
                let used = ta.indexes.values().any(|i| i.columns.iter().any(|k| mentions(k, &ca.name)))
                    || ta
                        .columns
                        .iter()
                        .any(|c| c.generated.as_ref().is_some_and(|g| mentions(&g.expression, &ca.name)));
                if used {
                    return true;
                }
            }
        }
        // Column order: added columns go last; a table whose order differs is rebuilt.
        let kept: Vec<&str> =
            ta.columns.iter().filter(|c| tb.column(&c.name).is_some()).map(|c| c.name.as_str()).collect();
        let wanted: Vec<&str> = tb.columns.iter().map(|c| c.name.as_str()).collect();
        !wanted.starts_with(&kept)
    }

    fn sqlite(&self, s: &mut Script) {
        let (a, b) = (self.a, self.b);
        let rebuilt: BTreeSet<&String> = b
            .tables
            .iter()
            .filter(|(k, tb)| a.tables.get(*k).is_some_and(|ta| self.needs_rebuild(ta, tb)))
            .map(|(k, _)| k)
            .collect();
        let reshaped = self.reshaped_tables();
        if !rebuilt.is_empty() || a.tables.keys().any(|k| !b.tables.contains_key(k)) {
            // Rows that reference a table being rebuilt or dropped are checked at commit instead.
            s.push("PRAGMA defer_foreign_keys = ON");
        }
        for (k, t) in &a.triggers {
            if b.triggers.get(k) != Some(t) || rebuilt.contains(&t.table) {
                s.push(format!("DROP TRIGGER {}", self.q(&t.name)));
            }
        }
        // SQLite re-checks every view when a table is renamed: drop views over reshaped tables.
        let any_rebuild = !rebuilt.is_empty();
        let views_to_drop = self.drop_views(s, |v| any_rebuild || reshaped.iter().any(|t| mentions(&v.definition, t)));
        for (k, ta) in &a.tables {
            let Some(tb) = b.tables.get(k) else { continue };
            if rebuilt.contains(k) {
                continue;
            }
            self.drop_indexes(s, ta, tb);
        }
        self.drop_tables(s);
        for (k, tb) in &b.tables {
            let Some(ta) = a.tables.get(k) else {
                s.push(self.create_table(tb, None));
                self.create_indexes(s, None, tb);
                continue;
            };
            let t = self.qt(tb);
            if rebuilt.contains(k) {
                let tmp = format!("_dbcheck_new_{}", tb.name);
                s.push(self.create_table(tb, Some(&tmp)));
                let copied: Vec<&Column> = tb
                    .columns
                    .iter()
                    .filter(|c| c.generated.is_none() && ta.column(&c.name).is_some_and(|o| o.generated.is_none()))
                    .collect();
                let lost = ta.columns.iter().any(|c| tb.column(&c.name).is_none())
                    || copied.iter().any(|c| ta.column(&c.name).is_some_and(|o| o.data_type != c.data_type));
                if !copied.is_empty() {
                    let names = copied.iter().map(|c| self.q(&c.name)).collect::<Vec<_>>().join(", ");
                    s.push(format!("INSERT INTO {} ({names}) SELECT {names} FROM {t}", self.q(&tmp)));
                }
                if lost {
                    s.destroy(format!("DROP TABLE {t}"))
                } else {
                    s.push(format!("DROP TABLE {t}"))
                }
                s.push(format!("ALTER TABLE {} RENAME TO {t}", self.q(&tmp)));
                // The new table has no indexes yet: create every one.
                self.create_indexes(s, None, tb);
                continue;
            }
            for cb in &tb.columns {
                if ta.column(&cb.name).is_none() {
                    s.push(format!("ALTER TABLE {t} ADD COLUMN {}", self.column_def(tb, cb)));
                }
            }
            self.drop_columns(s, &t, ta, tb);
            self.create_indexes(s, Some(ta), tb);
        }
        self.create_views(s, &views_to_drop);
        for (k, t) in &b.triggers {
            if a.triggers.get(k) != Some(t) || rebuilt.contains(&t.table) {
                s.push(t.definition.clone());
            }
        }
    }
}

/// Whether `text` mentions `name` as a whole word (case-insensitive).
fn mentions(text: &str, name: &str) -> bool {
    let (t, n) = (text.to_ascii_lowercase(), name.to_ascii_lowercase());
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    t.match_indices(&n).any(|(i, _)| !word(t[..i].chars().next_back()) && !word(t[i + n.len()..].chars().next()))
}

/// Whether `old` appears in `new` in the same order (labels only added).
fn is_subsequence(old: &[String], new: &[String]) -> bool {
    let mut it = new.iter();
    old.iter().all(|o| it.any(|n| n == o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CheckConstraint, PrimaryKey};

    fn users(d: Dialect) -> Schema {
        let mut s = Schema::empty(d);
        let mut t = Table::new(None, "users");
        let mut id = Column::new("id", "bigint");
        id.nullable = false;
        id.auto_increment = true;
        t.columns.push(id);
        t.columns.push(Column::new("email", "text"));
        t.primary_key = Some(PrimaryKey { name: Some("users_pkey".into()), columns: vec!["id".into()] });
        s.tables.insert("users".into(), t);
        s
    }

    #[test]
    fn postgres_creates_tables_with_serial_and_named_keys() {
        let sql = create_statements(&users(Dialect::Postgres)).to_sql();
        assert!(sql.contains("\"id\" bigserial NOT NULL"), "{sql}");
        assert!(sql.contains("CONSTRAINT \"users_pkey\" PRIMARY KEY (\"id\")"), "{sql}");
    }

    #[test]
    fn drops_are_marked_destructive_and_not_valid_is_kept() {
        let a = users(Dialect::Postgres);
        let mut b = a.clone();
        let t = b.tables.get_mut("users").unwrap();
        t.columns.retain(|c| c.name != "email");
        t.checks.insert("users_id_positive".into(), CheckConstraint { expression: "(id > 0)".into(), valid: false });
        let script = migration_script(&a, &b);
        assert!(script.is_destructive());
        let sql = script.to_sql();
        assert!(sql.contains("-- destructive"), "{sql}");
        assert!(sql.contains("DROP COLUMN \"email\""), "{sql}");
        assert!(sql.contains("CHECK (id > 0) NOT VALID"), "{sql}");
        assert!(migration_script(&b, &b).is_empty());
    }

    #[test]
    fn sqlite_rebuilds_what_alter_cannot_do() {
        let a = users(Dialect::Sqlite);
        let mut b = a.clone();
        b.tables.get_mut("users").unwrap().columns[1].nullable = false;
        let sql = migration_script(&a, &b).to_sql();
        assert!(sql.contains("CREATE TABLE \"_dbcheck_new_users\""), "{sql}");
        assert!(sql.contains("INSERT INTO \"_dbcheck_new_users\" (\"id\", \"email\") SELECT"), "{sql}");
        assert!(sql.contains("ALTER TABLE \"_dbcheck_new_users\" RENAME TO \"users\""), "{sql}");
        assert!(sql.contains("PRIMARY KEY AUTOINCREMENT"), "{sql}");
    }

    #[test]
    fn words_and_subsequences() {
        assert!(mentions("SELECT * FROM ads a", "ads"));
        assert!(!mentions("SELECT * FROM ads_x", "ads"));
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_subsequence(&v(&["a", "c"]), &v(&["a", "b", "c"])));
        assert!(!is_subsequence(&v(&["c", "a"]), &v(&["a", "b", "c"])));
        assert_eq!(split_direction("a DESC NULLS LAST"), ("a", " DESC NULLS LAST"));
    }
}
