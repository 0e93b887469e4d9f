//! Property tests: the linter never panics, whatever the input — arbitrary text, SQL-shaped token
//! soup after a real history, in every dialect, with code references and sizes present.

use proptest::prelude::*;

use super::testing::lint_with;
use super::{LintOptions, TableSizes};
use crate::db::Dialect;
use crate::declared::CodeRef;

const WORDS: &[&str] = &[
    "CREATE",
    "TABLE",
    "INDEX",
    "UNIQUE",
    "CONCURRENTLY",
    "ALTER",
    "ADD",
    "DROP",
    "COLUMN",
    "CONSTRAINT",
    "CHECK",
    "FOREIGN",
    "KEY",
    "PRIMARY",
    "REFERENCES",
    "NOT",
    "NULL",
    "VALID",
    "VALIDATE",
    "RENAME",
    "TO",
    "TYPE",
    "SET",
    "DEFAULT",
    "USING",
    "ON",
    "ONLY",
    "IF",
    "EXISTS",
    "CASCADE",
    "TRUNCATE",
    "BEGIN",
    "COMMIT",
    "UPDATE",
    "DELETE",
    "FROM",
    "WHERE",
    "ENUM",
    "AS",
    "VALUE",
    "MODIFY",
    "CHANGE",
    "ads",
    "users",
    "slug",
    "id",
    "price",
    "int",
    "bigint",
    "text",
    "varchar(10)",
    "serial",
    "timestamp",
    "char(2)",
    "random()",
    "now()",
    "lock_timeout",
    "=",
    "(",
    ")",
    ",",
    ";",
    ".",
    "'x'",
    "$$",
    "\"q\"",
    "--",
    "\n",
    "*",
    "1",
];

const HISTORY: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n\
    CREATE TABLE ads (id serial PRIMARY KEY, user_id int REFERENCES users (id), slug varchar(20), price int NOT NULL DEFAULT 0);\n\
    CREATE INDEX ads_slug_idx ON ads (slug);\nCREATE TYPE mood AS ENUM ('a', 'b');\n";

fn options() -> LintOptions {
    let refs = vec![CodeRef {
        table: "ads".into(),
        column: Some("slug".into()),
        path: "src/lib.rs".into(),
        line: 1,
        span: 0..1,
        item: "struct Ad, field slug".into(),
    }];
    let sizes = TableSizes { rows: [("ads".to_owned(), 5_000_000), ("users".to_owned(), 3)].into_iter().collect() };
    LintOptions { code_refs: refs, sizes: Some(sizes), ..LintOptions::default() }
}

fn soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(WORDS), 0..60).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_token_soup(sql in soup(), dialect in prop_oneof![Just(Dialect::Postgres), Just(Dialect::Sqlite), Just(Dialect::Mysql)]) {
        let found = lint_with(dialect, &[HISTORY, &sql], &options());
        for f in found {
            if let Some(crate::Location::File { span: Some(span), .. }) = &f.finding.location {
                prop_assert!(span.start <= span.end);
            }
        }
    }

    #[test]
    fn never_panics_on_arbitrary_text(sql in "\\PC{0,300}") {
        let _ = lint_with(Dialect::Postgres, &[HISTORY, &sql], &options());
        let _ = lint_with(Dialect::Sqlite, &[&sql], &LintOptions::default());
    }
}
