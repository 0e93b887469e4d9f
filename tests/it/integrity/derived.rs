//! Derived rules: NOT VALID constraints, an INVALID index left by a failed concurrent build,
//! `*_id` columns without a foreign key, and constraints a declared schema has but the database
//! lacks.

use dbcheck_core::Severity;
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, connect};
use dbcheck_core::integrity::{IntegrityOptions, check_config};
use dbcheck_core::schema::{CheckConstraint, Index};
use dbcheck_tests::TestDb;

use super::{config, open};

const SETUP: &str = "
CREATE TABLE categories (id INTEGER PRIMARY KEY, name VARCHAR(50));
CREATE TABLE ads (id INTEGER PRIMARY KEY, slug VARCHAR(50), price INTEGER, category_id INTEGER, legacy_id INTEGER);
INSERT INTO categories VALUES (1, 'a');
INSERT INTO ads VALUES (1, 'x', -1, 1, 7), (2, 'x', 5, 2, 8);
";

fn codes(r: &dbcheck_core::integrity::IntegrityReport) -> Vec<(&'static str, String)> {
    r.findings.iter().map(|f| (f.code, f.message.clone())).collect()
}

#[tokio::test]
async fn postgres_not_valid_invalid_and_missing() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    db.execute(SETUP).await;
    db.execute("ALTER TABLE ads ADD CONSTRAINT ads_price_positive CHECK (price >= 0) NOT VALID").await;
    db.execute("CREATE TABLE ad_images (id INTEGER PRIMARY KEY, ad_id INTEGER)").await;
    db.execute(
        "ALTER TABLE ad_images ADD CONSTRAINT ad_images_ad_fk FOREIGN KEY (ad_id) REFERENCES ads (id) NOT VALID",
    )
    .await;
    // A concurrent unique build over duplicates fails and leaves an INVALID index behind.
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut writer = connect(&url, &ConnectOptions { read_only: false, ..ConnectOptions::default() }).await.unwrap();
    let failed = writer.execute("CREATE UNIQUE INDEX CONCURRENTLY ads_slug_key ON ads (slug)", "test").await;
    assert!(failed.is_err());
    writer.close().await;

    let mut conn = open(&db).await;
    let mut declared = conn.introspect(&Default::default()).await.unwrap();
    declared.tables.get_mut("categories").unwrap().checks.insert(
        "categories_name_present".into(),
        CheckConstraint { expression: "(name IS NOT NULL)".into(), valid: true },
    );
    let options = IntegrityOptions { declared: Some(declared), ..IntegrityOptions::default() };
    let c = config("ignore_missing_fk = [\"ads.legacy_id\"]\n");
    let r = check_config(&mut conn, &c, &[], &options).await.unwrap();
    conn.close().await;
    let found = codes(&r);
    let has = |code: &str, needle: &str| found.iter().any(|(c, m)| *c == code && m.contains(needle));
    assert!(has("integrity-constraint-not-valid", "check constraint ads_price_positive on ads"), "{found:#?}");
    assert!(has("integrity-constraint-not-valid", "foreign key ad_images_ad_fk on ad_images"), "{found:#?}");
    assert!(has("integrity-index-invalid", "unique index ads_slug_key on ads is INVALID"), "{found:#?}");
    assert!(
        has("integrity-foreign-key-missing", "ads.category_id looks like a reference to categories.id"),
        "{found:#?}"
    );
    assert!(has("integrity-constraint-missing", "categories.categories_name_present"), "{found:#?}");
    // ad_images.ad_id has its (NOT VALID) foreign key; legacy_id is ignored by configuration.
    assert!(!has("integrity-foreign-key-missing", "ad_images.ad_id"), "{found:#?}");
    assert!(!found.iter().any(|(_, m)| m.contains("legacy_id")), "{found:#?}");
    assert_eq!(found.len(), 5, "{found:#?}");
    let fk = r.findings.iter().find(|f| f.code == "integrity-foreign-key-missing").unwrap();
    assert_eq!(fk.severity, Severity::Info);
    assert!(fk.fix_sql.as_deref().unwrap().contains("NOT VALID;\nALTER TABLE \"ads\" VALIDATE CONSTRAINT"));
}

#[tokio::test]
async fn sqlite_missing_foreign_key_and_declared_constraint() {
    let db = dbcheck_tests::require_db!(TestDb::sqlite().await);
    db.execute(SETUP).await;
    db.execute("CREATE TABLE ad_images (id INTEGER PRIMARY KEY, ad_id INTEGER REFERENCES ads (id))").await;
    let mut conn = open(&db).await;
    let mut declared = conn.introspect(&Default::default()).await.unwrap();
    declared
        .tables
        .get_mut("ads")
        .unwrap()
        .checks
        .insert("ads_price_positive".into(), CheckConstraint { expression: "price >= 0".into(), valid: true });
    let ix = |unique| Index {
        columns: vec!["slug".into()],
        include: Vec::new(),
        unique,
        method: None,
        predicate: None,
        valid: true,
    };
    let ads = declared.tables.get_mut("ads").unwrap();
    ads.indexes.insert("ads_slug_key".into(), ix(true));
    // A plain index is not a constraint: not reported.
    ads.indexes.insert("ads_slug_idx".into(), ix(false));
    let options = IntegrityOptions { declared: Some(declared), ..IntegrityOptions::default() };
    let r = check_config(&mut conn, &config(""), &[], &options).await.unwrap();
    conn.close().await;
    let found = codes(&r);
    // legacy_id names no table: no suggestion; ad_images.ad_id has its foreign key.
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found.iter().any(|(c, m)| *c == "integrity-constraint-missing" && m.contains("ads.ads_slug_key")));
    assert!(found.iter().any(|(c, m)| *c == "integrity-foreign-key-missing" && m.starts_with("ads.category_id")));
    assert!(found.iter().any(|(c, m)| *c == "integrity-constraint-missing" && m.contains("ads.ads_price_positive")));
}

/// Guarded structs' plain (non-`Option`) fields on columns the live database lets be NULL: the
/// derived rule names each struct field, on PostgreSQL and SQLite; `Option` fields and NOT NULL
/// columns are quiet.
async fn code_not_null(db: &TestDb) {
    db.execute(SETUP).await;
    let crate_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(crate_dir.path().join("src")).unwrap();
    std::fs::write(
        crate_dir.path().join("src/models.rs"),
        "#[dbcheck::schema_guard(table = \"ads\")]\n\
         pub struct Ad {\n    pub id: i32,\n    pub slug: String,\n    pub price: Option<i32>,\n}\n\
         #[dbcheck::schema_guard(table = \"categories\")]\n\
         pub struct Category {\n    pub name: Option<String>,\n}\n",
    )
    .unwrap();
    let structs = dbcheck_core::guard::scan_sources(crate_dir.path()).unwrap();
    let options =
        IntegrityOptions { code_not_null: dbcheck_core::guard::non_null_refs(&structs), ..IntegrityOptions::default() };
    let mut conn = open(db).await;
    let r = check_config(&mut conn, &config(""), &[], &options).await.unwrap();
    conn.close().await;
    let found: Vec<_> = r.findings.iter().filter(|f| f.code == "integrity-code-not-null-missing").collect();
    assert_eq!(found.len(), 1, "{:#?}", r.findings);
    assert!(
        found[0].message.contains("ads.slug allows NULL")
            && found[0].message.contains("struct Ad, field slug (src/models.rs:4)"),
        "{}",
        found[0].message
    );
    assert!(found[0].fix_sql.is_some());
}

mod code_not_null {
    use super::*;
    dbcheck_tests::per_backend!(code_not_null);
}
