//! Hostile configuration: table, column and value names with quotes, semicolons, comment
//! markers and unicode are quoted, never executed; every table still exists afterwards.

use dbcheck_tests::{Backend, TestDb};

use super::{config, per_backend, rule, run, samples};

const TABLE: &str = "ad\"s'; DROP TABLE victim; --";
const PARENT: &str = "pa`rent\"; DELETE FROM victim; --";
const COLUMN: &str = "sl\"ug' ü;--";

async fn hostile_names(db: &TestDb) {
    let d = match db.backend() {
        Backend::Mysql => dbcheck_core::db::Dialect::Mysql,
        Backend::Postgres => dbcheck_core::db::Dialect::Postgres,
        Backend::Sqlite => dbcheck_core::db::Dialect::Sqlite,
    };
    let (t, p, c) = (d.quote_ident(TABLE), d.quote_ident(PARENT), d.quote_ident(COLUMN));
    let v = |s: &str| d.quote_literal(s);
    db.execute(&format!(
        "CREATE TABLE victim (id INTEGER PRIMARY KEY);
         INSERT INTO victim VALUES (1);
         CREATE TABLE {p} (id INTEGER PRIMARY KEY);
         INSERT INTO {p} VALUES (1);
         CREATE TABLE {t} (id INTEGER PRIMARY KEY, {c} VARCHAR(100), pid INTEGER);
         INSERT INTO {t} VALUES (1, {}, 1), (2, {}, 2), (3, NULL, 1), (4, {}, 1);",
        v("ok'); DROP TABLE victim; --"),
        v("ünï\"code"),
        v("ünï\"code"),
    ))
    .await;
    let toml_str = |s: &str| format!("{s:?}");
    let c_toml = toml_str(COLUMN);
    let rules = format!(
        "[[rules]]\ntable = {t}\ncolumn = {c_toml}\nnot_null = true\nunique = true\n\
         accepted_values = [\"ok'); DROP TABLE victim; --\"]\nregex = \"^ok'\"\n\
         [[rules]]\ntable = {t}\ncolumn = \"pid\"\nreferences = {{ table = {pt} }}\n",
        t = toml_str(TABLE),
        pt = toml_str(PARENT),
    );
    let r = run(db, &config(&rules)).await;
    let id = |kind: &str| format!("{TABLE}.{COLUMN}.{kind}");
    assert_eq!(rule(&r, &id("not_null")).violations, 1);
    assert_eq!(samples(rule(&r, &id("not_null"))), [(Some("3"), Some("NULL"))]);
    let accepted = rule(&r, &id("accepted_values"));
    assert_eq!(samples(accepted), [(Some("2"), Some("ünï\"code")), (Some("4"), Some("ünï\"code"))]);
    assert_eq!(rule(&r, &id("regex")).violations, 2);
    let unique = rule(&r, &id("unique"));
    assert_eq!((unique.violations, unique.groups), (2, Some(1)));
    let orphans = rule(&r, &format!("{TABLE}.pid.references"));
    assert_eq!(samples(orphans), [(Some("2"), Some("2"))]);
    assert!(r.rules.iter().all(|x| x.error.is_none()), "{:#?}", r.rules);
    // The victim is intact.
    let again = run(db, &config("[[rules]]\ntable = \"victim\"\ncolumn = \"id\"\nnot_null = true\n")).await;
    assert_eq!(again.tables[0].rows, 1);
}

mod hostile_names {
    super::per_backend!(super::hostile_names);
}
