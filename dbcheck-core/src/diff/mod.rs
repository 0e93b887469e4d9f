//! Diffing two [`Schema`]s: the differences (object, aspect, what each side has) and, per dialect,
//! the ordered SQL that turns the first into the second.
//!
//! **Invariant:** applying `migration_script(a, b)` to a database whose schema is `a` yields a
//! database whose introspected schema is `b`; the round-trip tests hold every fixture pair to it.

mod drift;
mod sql;

use serde::Serialize;

pub use drift::{
    DriftError, DriftReport, ReplaySummary, compare, detect_drift, diff_finding, drift_finding, introspect_options,
};
pub use sql::{Script, Step, create_statements, migration_script};

use crate::schema::{Column, Index, Schema, Table};

/// What kind of object differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A table.
    Table,
    /// A column.
    Column,
    /// A primary key.
    PrimaryKey,
    /// A unique constraint.
    Unique,
    /// A check constraint.
    Check,
    /// A foreign key.
    ForeignKey,
    /// An index.
    Index,
    /// An enum type.
    Enum,
    /// A sequence.
    Sequence,
    /// A view.
    View,
    /// A function or procedure.
    Function,
    /// A trigger.
    Trigger,
}

impl ObjectKind {
    /// Human noun.
    pub fn noun(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::PrimaryKey => "primary key",
            ObjectKind::Unique => "unique constraint",
            ObjectKind::Check => "check constraint",
            ObjectKind::ForeignKey => "foreign key",
            ObjectKind::Index => "index",
            ObjectKind::Enum => "enum type",
            ObjectKind::Sequence => "sequence",
            ObjectKind::View => "view",
            ObjectKind::Function => "function",
            ObjectKind::Trigger => "trigger",
        }
    }

    /// Whether it is a table constraint.
    pub fn is_constraint(self) -> bool {
        matches!(self, ObjectKind::PrimaryKey | ObjectKind::Unique | ObjectKind::Check | ObjectKind::ForeignKey)
    }
}

/// Which side has the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Only the first schema (`from`) has it.
    OnlyInFrom,
    /// Only the second schema (`to`) has it.
    OnlyInTo,
    /// Both have it, differently.
    Changed,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The kind of object.
    pub kind: ObjectKind,
    /// The object: `table`, `table.column`, `table.constraint`, `table.index`, or a type/view name.
    pub object: String,
    /// Which side has it.
    pub presence: Presence,
    /// For a changed object: what differs (`type`, `nullable`, `default`, `valid`, `definition`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect: Option<&'static str>,
    /// What `from` has (a description), when it has the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// What `to` has, when it has the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Every difference between two schemas, in a stable order.
pub fn diff_schemas(from: &Schema, to: &Schema) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut push = |kind, object: String, presence, aspect, f: Option<String>, t: Option<String>| {
        out.push(Difference { kind, object, presence, aspect, from: f, to: t });
    };
    for (key, a) in &from.tables {
        match to.tables.get(key) {
            None => push(ObjectKind::Table, key.clone(), Presence::OnlyInFrom, None, Some(describe_table(a)), None),
            Some(b) => diff_table(key, a, b, &mut push),
        }
    }
    for (key, b) in &to.tables {
        if !from.tables.contains_key(key) {
            push(ObjectKind::Table, key.clone(), Presence::OnlyInTo, None, None, Some(describe_table(b)));
        }
    }
    named(&from.enums, &to.enums, ObjectKind::Enum, |e| format!("({})", e.labels.join(", ")), "labels", &mut push);
    named(
        &from.sequences,
        &to.sequences,
        ObjectKind::Sequence,
        |s| {
            format!(
                "{} start {} increment {} min {} max {}{}",
                s.data_type,
                s.start,
                s.increment,
                s.min_value,
                s.max_value,
                if s.cycle { " cycle" } else { "" }
            )
        },
        "options",
        &mut push,
    );
    named(
        &from.views,
        &to.views,
        ObjectKind::View,
        |v| format!("{}definition {}", if v.materialized { "materialized, " } else { "" }, v.definition_hash),
        "definition",
        &mut push,
    );
    named(
        &from.functions,
        &to.functions,
        ObjectKind::Function,
        |f| format!("definition {}", f.definition_hash),
        "definition",
        &mut push,
    );
    named(
        &from.triggers,
        &to.triggers,
        ObjectKind::Trigger,
        |t| format!("definition {}", t.definition_hash),
        "definition",
        &mut push,
    );
    out
}

type Push<'a> = dyn FnMut(ObjectKind, String, Presence, Option<&'static str>, Option<String>, Option<String>) + 'a;

fn named<T: PartialEq>(
    from: &std::collections::BTreeMap<String, T>,
    to: &std::collections::BTreeMap<String, T>,
    kind: ObjectKind,
    describe: impl Fn(&T) -> String,
    aspect: &'static str,
    push: &mut Push<'_>,
) {
    for (k, a) in from {
        match to.get(k) {
            None => push(kind, k.clone(), Presence::OnlyInFrom, None, Some(describe(a)), None),
            Some(b) if a != b => {
                push(kind, k.clone(), Presence::Changed, Some(aspect), Some(describe(a)), Some(describe(b)))
            }
            Some(_) => {}
        }
    }
    for (k, b) in to {
        if !from.contains_key(k) {
            push(kind, k.clone(), Presence::OnlyInTo, None, None, Some(describe(b)));
        }
    }
}

fn describe_table(t: &Table) -> String {
    format!("{} column(s)", t.columns.len())
}

/// A column's description: `varchar(20) not null default 'x'`.
pub fn describe_column(c: &Column) -> String {
    let mut s = c.data_type.clone();
    if c.auto_increment {
        s.push_str(" auto-increment");
    }
    if !c.nullable {
        s.push_str(" not null");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" default {d}"));
    }
    if let Some(i) = c.identity {
        s.push_str(&format!(" identity {i:?}"));
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(" generated as ({})", g.expression));
    }
    s
}

fn describe_index(i: &Index) -> String {
    let mut s = format!("{}({})", if i.unique { "unique " } else { "" }, i.columns.join(", "));
    if let Some(m) = &i.method {
        s = format!("{m} {s}");
    }
    if !i.include.is_empty() {
        s.push_str(&format!(" include ({})", i.include.join(", ")));
    }
    if let Some(p) = &i.predicate {
        s.push_str(&format!(" where {p}"));
    }
    if !i.valid {
        s.push_str(" INVALID");
    }
    s
}

fn diff_table(key: &str, a: &Table, b: &Table, push: &mut Push<'_>) {
    let obj = |n: &str| format!("{key}.{n}");
    for ca in &a.columns {
        let Some(cb) = b.column(&ca.name) else {
            push(ObjectKind::Column, obj(&ca.name), Presence::OnlyInFrom, None, Some(describe_column(ca)), None);
            continue;
        };
        let mut aspect = |name: &'static str, f: String, t: String| {
            if f != t {
                push(ObjectKind::Column, obj(&ca.name), Presence::Changed, Some(name), Some(f), Some(t));
            }
        };
        aspect("type", ca.data_type.clone(), cb.data_type.clone());
        let null = |n: bool| if n { "nullable" } else { "not null" }.to_owned();
        aspect("nullable", null(ca.nullable), null(cb.nullable));
        let opt = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".to_owned());
        aspect("default", opt(&ca.default), opt(&cb.default));
        let ai = |c: &Column| if c.auto_increment { "auto-increment" } else { "none" }.to_owned();
        aspect("auto_increment", ai(ca), ai(cb));
        aspect("identity", format!("{:?}", ca.identity), format!("{:?}", cb.identity));
        let generated = |c: &Column| {
            c.generated.as_ref().map_or("none".to_owned(), |g| {
                format!("({}) {}", g.expression, if g.stored { "stored" } else { "virtual" })
            })
        };
        aspect("generated", generated(ca), generated(cb));
    }
    for cb in &b.columns {
        if a.column(&cb.name).is_none() {
            push(ObjectKind::Column, obj(&cb.name), Presence::OnlyInTo, None, None, Some(describe_column(cb)));
        }
    }
    let pk = |p: &Option<crate::schema::PrimaryKey>| p.as_ref().map(|p| format!("({})", p.columns.join(", ")));
    let pk_name = a
        .primary_key
        .as_ref()
        .or(b.primary_key.as_ref())
        .and_then(|p| p.name.clone())
        .unwrap_or_else(|| "primary key".to_owned());
    match (&a.primary_key, &b.primary_key) {
        (Some(_), None) => {
            push(ObjectKind::PrimaryKey, obj(&pk_name), Presence::OnlyInFrom, None, pk(&a.primary_key), None)
        }
        (None, Some(_)) => {
            push(ObjectKind::PrimaryKey, obj(&pk_name), Presence::OnlyInTo, None, None, pk(&b.primary_key))
        }
        (Some(x), Some(y)) if x != y => push(
            ObjectKind::PrimaryKey,
            obj(&pk_name),
            Presence::Changed,
            Some("columns"),
            pk(&a.primary_key),
            pk(&b.primary_key),
        ),
        _ => {}
    }
    let mut sub = |kind, fa: Vec<(String, String, bool)>, fb: Vec<(String, String, bool)>| {
        for (n, da, va) in &fa {
            match fb.iter().find(|(m, _, _)| m == n) {
                None => push(kind, obj(n), Presence::OnlyInFrom, None, Some(da.clone()), None),
                Some((_, db, _)) if da != db => {
                    push(kind, obj(n), Presence::Changed, Some("definition"), Some(da.clone()), Some(db.clone()))
                }
                Some((_, _, vb)) if va != vb => {
                    let v = |v: bool| if v { "valid" } else { "NOT VALID" }.to_owned();
                    push(kind, obj(n), Presence::Changed, Some("valid"), Some(v(*va)), Some(v(*vb)));
                }
                _ => {}
            }
        }
        for (n, db, _) in &fb {
            if !fa.iter().any(|(m, _, _)| m == n) {
                push(kind, obj(n), Presence::OnlyInTo, None, None, Some(db.clone()));
            }
        }
    };
    let uniques = |t: &Table| {
        t.uniques
            .iter()
            .map(|(n, u)| {
                let mut d = format!("unique ({})", u.columns.join(", "));
                if u.deferrable {
                    d.push_str(if u.initially_deferred { " deferrable initially deferred" } else { " deferrable" });
                }
                (n.clone(), d, true)
            })
            .collect()
    };
    sub(ObjectKind::Unique, uniques(a), uniques(b));
    let checks =
        |t: &Table| t.checks.iter().map(|(n, c)| (n.clone(), format!("check {}", c.expression), c.valid)).collect();
    sub(ObjectKind::Check, checks(a), checks(b));
    let fks = |t: &Table| {
        t.foreign_keys
            .iter()
            .map(|(n, f)| {
                let mut d = format!(
                    "({}) references {}({}) on update {} on delete {}",
                    f.columns.join(", "),
                    f.references,
                    f.referenced_columns.join(", "),
                    f.on_update.sql().to_lowercase(),
                    f.on_delete.sql().to_lowercase()
                );
                if f.deferrable {
                    d.push_str(if f.initially_deferred { " deferrable initially deferred" } else { " deferrable" });
                }
                (n.clone(), d, f.valid)
            })
            .collect()
    };
    sub(ObjectKind::ForeignKey, fks(a), fks(b));
    for (n, ia) in &a.indexes {
        match b.indexes.get(n) {
            None => push(ObjectKind::Index, obj(n), Presence::OnlyInFrom, None, Some(describe_index(ia)), None),
            Some(ib) if ia == ib => {}
            Some(ib) => {
                let same_but_validity = Index { valid: ib.valid, ..ia.clone() } == *ib;
                let aspect = if same_but_validity { "valid" } else { "definition" };
                push(
                    ObjectKind::Index,
                    obj(n),
                    Presence::Changed,
                    Some(aspect),
                    Some(describe_index(ia)),
                    Some(describe_index(ib)),
                );
            }
        }
    }
    for (n, ib) in &b.indexes {
        if !a.indexes.contains_key(n) {
            push(ObjectKind::Index, obj(n), Presence::OnlyInTo, None, None, Some(describe_index(ib)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Dialect;
    use crate::schema::{CheckConstraint, Column};

    fn table(name: &str, cols: &[(&str, &str, bool)]) -> Table {
        let mut t = Table::new(None, name);
        for (n, ty, nullable) in cols {
            let mut c = Column::new(*n, *ty);
            c.nullable = *nullable;
            t.columns.push(c);
        }
        t
    }

    #[test]
    fn differences_name_object_aspect_and_both_sides() {
        let mut a = Schema::empty(Dialect::Postgres);
        let mut b = Schema::empty(Dialect::Postgres);
        a.tables.insert(
            "ads".into(),
            table("ads", &[("id", "integer", false), ("title", "text", true), ("old", "text", true)]),
        );
        let mut ads = table("ads", &[("id", "bigint", false), ("title", "text", false), ("slug", "text", true)]);
        ads.checks.insert("ads_slug".into(), CheckConstraint { expression: "(slug <> '')".into(), valid: true });
        b.tables.insert("ads".into(), ads);
        b.tables.insert("users".into(), table("users", &[("id", "integer", false)]));
        let d = diff_schemas(&a, &b);
        let summary: Vec<(ObjectKind, &str, Presence, Option<&str>)> =
            d.iter().map(|d| (d.kind, d.object.as_str(), d.presence, d.aspect)).collect();
        assert_eq!(
            summary,
            [
                (ObjectKind::Column, "ads.id", Presence::Changed, Some("type")),
                (ObjectKind::Column, "ads.title", Presence::Changed, Some("nullable")),
                (ObjectKind::Column, "ads.old", Presence::OnlyInFrom, None),
                (ObjectKind::Column, "ads.slug", Presence::OnlyInTo, None),
                (ObjectKind::Check, "ads.ads_slug", Presence::OnlyInTo, None),
                (ObjectKind::Table, "users", Presence::OnlyInTo, None),
            ]
        );
        assert_eq!(d[0].from.as_deref(), Some("integer"));
        assert_eq!(d[0].to.as_deref(), Some("bigint"));
        assert!(diff_schemas(&b, &b).is_empty());
    }

    #[test]
    fn not_valid_is_its_own_aspect() {
        let mut a = Schema::empty(Dialect::Postgres);
        let mut t = table("ads", &[("id", "integer", false)]);
        t.checks.insert("c".into(), CheckConstraint { expression: "(id > 0)".into(), valid: false });
        a.tables.insert("ads".into(), t.clone());
        let mut b = a.clone();
        b.tables.get_mut("ads").unwrap().checks.get_mut("c").unwrap().valid = true;
        let d = diff_schemas(&a, &b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].aspect, Some("valid"));
        assert_eq!(d[0].from.as_deref(), Some("NOT VALID"));
    }
}
