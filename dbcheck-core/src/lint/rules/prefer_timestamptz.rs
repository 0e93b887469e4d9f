//! DL404 `prefer-timestamptz`: `timestamp` (without time zone) columns in PostgreSQL store wall
//! clock times whose meaning depends on the writer's time zone.

use super::columns::{Ty, retype_hit, typed_columns};
use super::{PG, Rule, RuleMeta};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct PreferTimestamptz;

static META: RuleMeta = RuleMeta {
    id: "prefer-timestamptz",
    code: "DL404",
    summary: "timestamp without time zone: prefer timestamptz",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: false,
    squawk: &["prefer-timestamptz", "prefer-timestamp-tz"],
    strong_migrations: "",
    atlas: "",
};

impl Rule for PreferTimestamptz {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        for c in typed_columns(cx) {
            let ty = Ty::parse(cx.dialect, c.type_text);
            if ty.name != "timestamp" {
                continue;
            }
            let replacement = match (ty.args.first(), ty.array) {
                (Some(p), false) => format!("timestamptz({p})"),
                (Some(p), true) => format!("timestamptz({p})[]"),
                (None, false) => "timestamptz".to_owned(),
                (None, true) => "timestamptz[]".to_owned(),
            };
            out.push(retype_hit(
                cx,
                &c,
                format!("column {} of {} is {}: prefer timestamptz", c.column, c.table.key(), c.type_text.trim()),
                "timestamp without time zone stores the wall-clock time the writer sent, without saying which zone it \
                 was in: servers, sessions or drivers with another TimeZone setting read and write shifted times, and \
                 comparisons with now() are off by the UTC offset. timestamptz stores an instant (same 8 bytes)",
                &replacement,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    #[test]
    fn flags_timestamp_without_time_zone() {
        let found = hits(
            "prefer-timestamptz",
            &["CREATE TABLE t (a timestamp, b timestamp(3) without time zone NOT NULL DEFAULT now());"],
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].finding.message, "column a of t is timestamp: prefer timestamptz");
        assert_eq!(
            found[1].finding.fix_sql.as_deref(),
            Some("-- in CREATE TABLE t:\nb timestamptz(3) NOT NULL DEFAULT now()")
        );
        assert_eq!(
            hits("prefer-timestamptz", &["CREATE TABLE t (a int);", "ALTER TABLE t ADD COLUMN b timestamp;"]).len(),
            1
        );
    }

    #[test]
    fn accepts_timestamptz_and_dates() {
        assert!(
            hits(
                "prefer-timestamptz",
                &["CREATE TABLE t (a timestamptz, b timestamp with time zone, c date, d time);"]
            )
            .is_empty()
        );
    }
}
