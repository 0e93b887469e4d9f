//! The oracle: static interpretation compared with replay, every disagreement a finding
//! (`static-mismatch`), and every statement the interpreter skipped a `static-unmodelled` one.

use super::compare::{comparable, restrict_namespaces};
use super::interpret::{StaticSchema, object_key};
use crate::diff::{Difference, ObjectKind, Presence, diff_schemas};
use crate::report::{Finding, Location, Severity};
use crate::schema::Schema;

/// Every difference between the static schema (restricted to `namespaces`, the ones introspection
/// read) and the replayed one, both in comparison form (see [`comparable`]). `from` is the static
/// side, `to` the replayed one.
pub fn static_disagreements(ours: &StaticSchema, replayed: &Schema, namespaces: &[String]) -> Vec<Difference> {
    diff_schemas(&comparable(&restrict_namespaces(&ours.schema, namespaces)), &comparable(replayed))
}

/// A `static-unmodelled` warning per statement the interpreter did not interpret.
pub fn unmodelled_findings(ours: &StaticSchema) -> Vec<Finding> {
    ours.unmodelled
        .iter()
        .map(|u| {
            Finding::new(
                "static-unmodelled",
                Severity::Warning,
                format!("statement not interpreted statically: {} (`{}`)", u.reason, u.statement),
            )
            .at(Location::span(&u.path, u.span.clone()))
            .help(
                "the schema computed without a database (schema --static, the macro, build.rs) does not include this \
                 statement's effect; replay-based commands are unaffected",
            )
        })
        .collect()
}

/// A `static-mismatch` error per disagreement, located at the statement that created or last
/// changed the object (or its table) when the static side knows it.
pub fn mismatch_findings(ours: &StaticSchema, differences: &[Difference]) -> Vec<Finding> {
    differences
        .iter()
        .map(|d| {
            let what = match d.presence {
                Presence::OnlyInFrom => "exists only in the static schema".to_owned(),
                Presence::OnlyInTo => "exists only in the replayed schema".to_owned(),
                Presence::Changed => format!(
                    "differs in {}: static {}, replayed {}",
                    d.aspect.unwrap_or("definition"),
                    d.from.as_deref().unwrap_or("none"),
                    d.to.as_deref().unwrap_or("none")
                ),
            };
            let mut f = Finding::new(
                "static-mismatch",
                Severity::Error,
                format!("{} {} {what}", d.kind.noun(), d.object),
            )
            .help(
                "static interpretation misread the migrations here; commands that use it (schema --static, the macro, \
                 build.rs) see a wrong schema for this object — please report the statement",
            );
            if let Some(o) = origin_of(ours, d) {
                f = f.at(Location::span(&o.path, o.span.clone()));
            }
            f
        })
        .collect()
}

fn origin_of<'a>(ours: &'a StaticSchema, d: &Difference) -> Option<&'a super::Origin> {
    let kind = match d.kind {
        ObjectKind::Table => "table",
        ObjectKind::Column => "column",
        ObjectKind::PrimaryKey | ObjectKind::Unique | ObjectKind::Check | ObjectKind::ForeignKey => "constraint",
        ObjectKind::Index => "index",
        ObjectKind::Enum => "enum",
        ObjectKind::Sequence => "sequence",
        ObjectKind::View => "view",
        ObjectKind::Function => "function",
        ObjectKind::Trigger => "trigger",
    };
    ours.origin(&object_key(kind, &d.object)).or_else(|| {
        let table = d.object.rsplit_once('.').map_or(d.object.as_str(), |(t, _)| t);
        ours.origin(&object_key("table", table))
    })
}
