//! A violation of every rule kind, seeded into a small marketplace: exact counts, exact samples,
//! thresholds, and rules on tables and columns that do not exist.

use dbcheck_core::Severity;
use dbcheck_tests::{Backend, TestDb};

use super::{config, per_backend, rule, run, samples};

const SETUP: &str = "
CREATE TABLE categories (id INTEGER PRIMARY KEY, name VARCHAR(100));
CREATE TABLE ads (id INTEGER PRIMARY KEY, title VARCHAR(100), slug VARCHAR(100), price INTEGER,
                  status VARCHAR(20), category_id INTEGER);
CREATE TABLE ad_images (id INTEGER PRIMARY KEY, ad_id INTEGER, is_primary INTEGER, path VARCHAR(100));
INSERT INTO categories VALUES (1, 'Cars'), (2, NULL), (3, 'Homes');
INSERT INTO ads VALUES
  (1, 'Red Car', 'red-car-1', 100, 'live', 1),
  (2, 'Blue Car', NULL, 50, 'live', 1),
  (3, 'House', '  ', -5, 'draft', 3),
  (4, 'Flat', 'Bad Slug', 20, 'sold', 9),
  (5, 'Boat', NULL, 2000000, 'live', 2),
  (6, 'Bike', 'bike-6', 10, 'live', NULL);
INSERT INTO ad_images VALUES (1, 1, 1, 'a.jpg'), (2, 1, 1, 'b.jpg'), (3, 1, 0, 'c.jpg'), (4, 2, 1, 'd.jpg'),
  (5, 2, 0, 'e.jpg'), (6, 7, 1, 'f.jpg');
";

const RULES: &str = r#"
samples = 5

[[rules]]
table = "ads"
column = "slug"
not_null = true
not_empty = true
regex = "^[a-z0-9]+(-[a-z0-9]+)*-[0-9]+$"

[[rules]]
table = "ads"
column = "price"
min = 0

[[rules]]
table = "ads"
column = "price"
max = 1000000
severity = "warning"
max_ratio = 0.2

[[rules]]
table = "ads"
column = "status"
accepted_values = ["draft", "live"]

[[rules]]
table = "ads"
name = "ads.price_round"
check = "price IS NULL OR price % 10 = 0"

[[rules]]
table = "ads"
column = "category_id"
references = { table = "categories" }

[[rules]]
table = "ad_images"
name = "ad_images.one_primary"
unique = ["ad_id"]
where = "is_primary = 1"

[[rules]]
table = "ad_images"
column = "ad_id"
references = { table = "ads", column = "id" }

[[rules]]
table = "categories"
name = "categories.unnamed"
sql = "SELECT id, name FROM categories WHERE name IS NULL ORDER BY id"

[[rules]]
table = "categories"
name = "categories.unnamed_tolerated"
sql = "SELECT id FROM categories WHERE name IS NULL"
max_ratio = 0.5

[[rules]]
table = "nope"
column = "x"
not_null = true

[[rules]]
table = "ads"
column = "nope"
not_null = true
"#;

async fn every_kind(db: &TestDb) {
    db.execute(SETUP).await;
    let r = run(db, &config(RULES)).await;

    let slug_null = rule(&r, "ads.slug.not_null");
    assert_eq!((slug_null.rows_checked, slug_null.violations), (Some(6), 2));
    assert_eq!(samples(slug_null), [(Some("2"), Some("NULL")), (Some("5"), Some("NULL"))]);
    assert!(slug_null.over_threshold);
    assert_eq!(slug_null.ratio, Some(2.0 / 6.0));

    let empty = rule(&r, "ads.slug.not_empty");
    assert_eq!(empty.violations, 1);
    assert_eq!(samples(empty), [(Some("3"), Some("  "))]);

    let regex = rule(&r, "ads.slug.regex");
    assert_eq!(regex.violations, 2);
    assert_eq!(samples(regex), [(Some("3"), Some("  ")), (Some("4"), Some("Bad Slug"))]);

    let min = rule(&r, "ads.price.min");
    assert_eq!(samples(min), [(Some("3"), Some("-5"))]);
    assert!(min.over_threshold);

    // 1 of 6 is within max_ratio 0.2: reported as info, not a failure.
    let max = rule(&r, "ads.price.max");
    assert_eq!((max.violations, max.over_threshold), (1, false));
    assert_eq!(samples(max), [(Some("5"), Some("2000000"))]);
    let max_finding = r.findings.iter().find(|f| f.message.starts_with("ads.price.max")).unwrap();
    assert_eq!((max_finding.code, max_finding.severity), ("integrity-within-threshold", Severity::Info));

    let accepted = rule(&r, "ads.status.accepted_values");
    assert_eq!(samples(accepted), [(Some("4"), Some("sold"))]);

    let check = rule(&r, "ads.price_round.check");
    assert_eq!(check.violations, 1);
    assert_eq!(samples(check), [(Some("3"), None)]);

    let orphans = rule(&r, "ads.category_id.references");
    assert_eq!(orphans.violations, 1);
    assert_eq!(samples(orphans), [(Some("4"), Some("9"))]);

    // Rows checked by a rule with `where` are the rows it selects: 4 primary images.
    let unique = rule(&r, "ad_images.one_primary.unique");
    assert_eq!((unique.rows_checked, unique.violations, unique.groups), (Some(4), 2, Some(1)));
    assert_eq!(samples(unique), [(Some("1"), Some("1")), (Some("2"), Some("1"))]);

    let images = rule(&r, "ad_images.ad_id.references");
    assert_eq!(samples(images), [(Some("6"), Some("7"))]);

    let custom = rule(&r, "categories.unnamed.sql");
    // A custom query's rows are rows of its table: 1 of the 3 categories.
    assert_eq!((custom.violations, custom.rows_checked), (1, Some(3)));
    assert_eq!(samples(custom), [(None, Some("id=2, name=NULL"))]);
    assert!(custom.over_threshold);
    let tolerated = rule(&r, "categories.unnamed_tolerated.sql");
    assert_eq!((tolerated.violations, tolerated.ratio), (1, Some(1.0 / 3.0)));
    assert!(!tolerated.over_threshold, "1 in 3 is within max_ratio 0.5");

    // Missing table and column: findings, not errors.
    let missing_table = rule(&r, "nope.x.not_null");
    assert!(missing_table.error.as_deref().unwrap().contains("table `nope` does not exist"));
    let missing_column = rule(&r, "ads.nope.not_null");
    assert!(missing_column.error.as_deref().unwrap().contains("column `nope` does not exist"));
    let codes: Vec<&str> = r.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"integrity-missing-table") && codes.contains(&"integrity-missing-column"), "{codes:?}");

    // Every rule that found something has a finding; over-threshold ones at their severity.
    let violations = r.findings.iter().filter(|f| f.code == "integrity-violation").count();
    assert_eq!(violations, 10, "{:#?}", r.findings);

    // Fix SQL: the slug backfill from the guidelines and the NOT VALID + VALIDATE migration.
    let backfill = slug_null.backfill_sql.as_deref().unwrap();
    assert!(
        backfill.contains("UPDATE \"ads\" SET \"slug\" =") || backfill.contains("UPDATE `ads` SET `slug` ="),
        "{backfill}"
    );
    let constraint = slug_null.constraint_sql.as_deref().unwrap();
    match db.backend() {
        Backend::Postgres => {
            assert!(backfill.contains("regexp_replace(lower(\"title\"), '[^a-z0-9]+', '-', 'g')"), "{backfill}");
            assert!(constraint.contains("NOT VALID;\nALTER TABLE \"ads\" VALIDATE CONSTRAINT"), "{constraint}");
            assert!(constraint.contains("SET NOT NULL"), "{constraint}");
        }
        Backend::Sqlite => assert!(constraint.starts_with("-- SQLite cannot add"), "{constraint}"),
        Backend::Mysql => assert!(constraint.contains("ADD CONSTRAINT"), "{constraint}"),
    }
}

mod every_kind {
    super::per_backend!(super::every_kind);
}

/// The fix SQL of PostgreSQL actually repairs the data and adds constraints that hold.
#[tokio::test]
async fn postgres_fixes_apply() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    db.execute(SETUP).await;
    let c = config(
        r#"[[rules]]
table = "ads"
column = "slug"
not_null = true
"#,
    );
    let r = run(&db, &c).await;
    let rule = rule(&r, "ads.slug.not_null");
    db.execute(rule.backfill_sql.as_deref().unwrap()).await;
    db.execute(rule.constraint_sql.as_deref().unwrap()).await;
    let again = run(&db, &c).await;
    assert_eq!(super::rule(&again, "ads.slug.not_null").violations, 0);
    let mut conn = super::open(&db).await;
    let schema = conn.introspect(&Default::default()).await.unwrap();
    conn.close().await;
    assert!(!schema.tables["ads"].columns.iter().find(|c| c.name == "slug").unwrap().nullable);
}

/// A parent column with the same name as the child's must not capture it in the anti-join.
async fn same_named_parent_column(db: &TestDb) {
    db.execute(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, code INTEGER);
         CREATE TABLE c (id INTEGER PRIMARY KEY, code INTEGER);
         INSERT INTO p VALUES (1, 1);
         INSERT INTO c VALUES (1, 1), (2, 2), (3, 3), (4, NULL);",
    )
    .await;
    let r = run(
        db,
        &config("[[rules]]\ntable = \"c\"\ncolumn = \"code\"\nreferences = { table = \"p\", column = \"code\" }\n"),
    )
    .await;
    let orphans = rule(&r, "c.code.references");
    assert_eq!((orphans.rows_checked, orphans.violations), (Some(4), 2));
    assert_eq!(samples(orphans), [(Some("2"), Some("2")), (Some("3"), Some("3"))]);
}

mod same_named_parent_column {
    super::per_backend!(super::same_named_parent_column);
}

/// Blank means empty or spaces only, and NULL passes both `not_empty` and `accepted_values`:
/// the edges of the byte-wise shortcuts the aggregate scan takes.
async fn blank_and_accepted_edges(db: &TestDb) {
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(20), st VARCHAR(20));
         INSERT INTO t VALUES (1, '', 'a'), (2, '   ', 'b'), (3, ' x', NULL), (4, 'x ', 'A'), (5, '!', 'c'),
           (6, NULL, 'a '), (7, ' ', ' a'), (8, '0', 'b');",
    )
    .await;
    let r = run(
        db,
        &config(
            "samples = 10\n[[rules]]\ntable = \"t\"\ncolumn = \"s\"\nnot_empty = true\n\
             [[rules]]\ntable = \"t\"\ncolumn = \"st\"\naccepted_values = [\"a\", \"b\"]\n",
        ),
    )
    .await;
    let blank = rule(&r, "t.s.not_empty");
    let keys: Vec<_> = samples(blank).into_iter().map(|(k, _)| k).collect();
    // MySQL's PAD SPACE collations also read '' and '   ' as equal; that changes nothing here.
    assert_eq!(keys, [Some("1"), Some("2"), Some("7")], "{:?}", samples(blank));
    assert_eq!(blank.violations, 3);
    let accepted = rule(&r, "t.st.accepted_values");
    let mut keys: Vec<_> = samples(accepted).into_iter().map(|(k, _)| k.unwrap_or_default().to_owned()).collect();
    keys.sort();
    // 'A' and 'a ' compare equal to 'a' under MySQL's default (case-insensitive, PAD SPACE)
    // collations, and the rule follows the column's collation.
    let expected: &[&str] = match db.backend() {
        Backend::Mysql => &["5", "7"],
        _ => &["4", "5", "6", "7"],
    };
    assert_eq!(keys, expected, "{:?}", samples(accepted));
    assert_eq!(accepted.violations, expected.len() as u64);
}

mod blank_and_accepted_edges {
    super::per_backend!(super::blank_and_accepted_edges);
}
