//! Pre-flight data checks on real databases: per statement kind, violating data refuses the
//! deploy with exact counts and applies nothing; clean data deploys.

use super::*;

struct Case {
    name: &'static str,
    /// Violating rows, inserted after the base schema is deployed.
    dirty: &'static str,
    /// The pending migration.
    migration: &'static str,
    code: &'static str,
    /// Must appear in the finding's message (the exact counts).
    message: &'static str,
    /// Makes the data clean.
    clean: &'static str,
}

const BASE: &str = "CREATE TABLE users (id INT PRIMARY KEY);\n\
    CREATE TABLE ads (id INT PRIMARY KEY, title VARCHAR(100), slug VARCHAR(100), price INT, user_id INT, views BIGINT);\n\
    CREATE TABLE tags (name VARCHAR(50));\n";

const CASES: &[Case] = &[
    Case {
        name: "set not null",
        dirty: "INSERT INTO ads (id, title, slug) VALUES (1, 'Red Bike', NULL), (2, 'Blue Car', NULL), (3, 'x', 'x-3'), (4, 'Old Sofa', NULL)",
        migration: "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;\n",
        code: "preflight-null-values",
        message: "3 row(s) of `ads` have NULL in `slug` (e.g. id=1; id=2; id=4)",
        clean: "UPDATE ads SET slug = CONCAT(regexp_replace(lower(title), '[^a-z0-9]+', '-', 'g'), '-', id) WHERE slug IS NULL",
    },
    Case {
        name: "add check",
        dirty: "INSERT INTO ads (id, price) VALUES (1, 10), (2, -5), (3, 0), (4, NULL)",
        migration: "ALTER TABLE ads ADD CONSTRAINT ads_price_positive CHECK (price > 0);\n",
        code: "preflight-check-violations",
        message: "2 row(s) of `ads` violate CHECK (price > 0)",
        clean: "DELETE FROM ads WHERE price <= 0",
    },
    Case {
        name: "add unique",
        dirty: "INSERT INTO ads (id, slug) VALUES (1, 'a'), (2, 'a'), (3, 'a'), (4, 'b'), (5, 'b'), (6, 'c'), (7, NULL), (8, NULL)",
        migration: "ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE (slug);\n",
        code: "preflight-duplicates",
        message: "2 duplicate group(s) (5 rows) in `ads` on (slug)",
        clean: "DELETE FROM ads WHERE id IN (2, 3, 5)",
    },
    Case {
        name: "unique index",
        dirty: "INSERT INTO ads (id, title) VALUES (1, 'T'), (2, 'T'), (3, 'U')",
        migration: "CREATE UNIQUE INDEX ads_title_key ON ads (title);\n",
        code: "preflight-duplicates",
        message: "1 duplicate group(s) (2 rows) in `ads` on (title)",
        clean: "UPDATE ads SET title = 'V' WHERE id = 2",
    },
    Case {
        name: "primary key",
        dirty: "INSERT INTO tags (name) VALUES ('a'), ('a'), (NULL), ('b')",
        migration: "ALTER TABLE tags ADD PRIMARY KEY (name);\n",
        code: "preflight-null-values",
        message: "1 row(s) of `tags` have NULL in `name`",
        clean: "DELETE FROM tags WHERE name IS NULL OR name = 'a'",
    },
    Case {
        name: "foreign key",
        dirty: "INSERT INTO users (id) VALUES (1); INSERT INTO ads (id, user_id) VALUES (1, 1), (2, 7), (3, 8), (4, NULL), (5, 9)",
        migration: "ALTER TABLE ads ADD CONSTRAINT ads_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n",
        code: "preflight-orphans",
        message: "3 row(s) of `ads` reference a missing `users` row through (user_id) (e.g. id=2; id=3; id=5)",
        clean: "INSERT INTO users (id) VALUES (7), (8), (9)",
    },
    Case {
        name: "narrowing varchar",
        dirty: "INSERT INTO ads (id, title) VALUES (1, 'short'), (2, 'much too long'), (3, 'also too long')",
        migration: "ALTER TABLE ads ALTER COLUMN title TYPE VARCHAR(5);\n",
        code: "preflight-cast-failures",
        message: "2 value(s) of `ads`.`title` are longer than 5 characters",
        clean: "UPDATE ads SET title = 'ok'",
    },
    Case {
        name: "narrowing integer",
        dirty: "INSERT INTO ads (id, views) VALUES (1, 10), (2, 40000), (3, -40000)",
        migration: "ALTER TABLE ads ALTER COLUMN views TYPE SMALLINT;\n",
        code: "preflight-cast-failures",
        message: "2 value(s) of `ads`.`views` do not fit in smallint",
        clean: "UPDATE ads SET views = 1",
    },
    Case {
        name: "add not null column",
        dirty: "INSERT INTO ads (id) VALUES (1), (2)",
        migration: "ALTER TABLE ads ADD COLUMN owner INT NOT NULL;\n",
        code: "preflight-null-values",
        message: "`ads` has 2 row(s), and new column `owner` is NOT NULL without a default",
        clean: "DELETE FROM ads",
    },
];

async fn run_case(case: &Case) {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    let p = Project::new();
    p.write("1_base.sql", BASE);
    assert_eq!(run_deploy(&db, p.dir(), None, &DeployOptions::default()).await.applied.len(), 1);
    db.execute(case.dirty).await;
    p.write("2_change.sql", &format!("CREATE TABLE marker (id INT);\n{}", case.migration));

    for dry_run in [true, false] {
        let options = DeployOptions { dry_run, ..DeployOptions::default() };
        let report = run_deploy(&db, p.dir(), None, &options).await;
        let f = report.findings.iter().find(|f| f.code == case.code);
        let f = f.unwrap_or_else(|| panic!("{}: no {} in {:?}", case.name, case.code, report.findings));
        assert!(f.message.contains(case.message), "{}: {}", case.name, f.message);
        assert_eq!(report.findings[0].code, "deploy-refused", "{}", case.name);
        assert!(report.applied.is_empty(), "{}", case.name);
        let mut c = Conn::open(&db).await;
        assert!(!c.table_exists("marker").await, "{}: something was applied", case.name);
        assert_eq!(c.count("_sqlx_migrations").await, 1);
        c.close().await;
    }
    db.execute(case.clean).await;
    let report = run_deploy(&db, p.dir(), None, &DeployOptions { dry_run: true, ..DeployOptions::default() }).await;
    assert!(
        report.findings.iter().all(|f| f.severity < dbcheck_core::Severity::Error),
        "{}: {:?}",
        case.name,
        report.findings
    );
    assert!(report.applied.is_empty(), "dry run applies nothing");
    let report = run_deploy(&db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 1, "{}: {:?}", case.name, report.findings);
}

#[tokio::test]
async fn each_statement_kind_refuses_dirty_data_and_deploys_clean_data_on_postgres() {
    for case in CASES {
        run_case(case).await;
    }
}

#[tokio::test]
async fn the_null_slug_finding_suggests_the_guidelines_backfill() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    let p = Project::new();
    p.write("1_base.sql", BASE);
    run_deploy(&db, p.dir(), None, &DeployOptions::default()).await;
    db.execute("INSERT INTO ads (id, title) VALUES (1, 'Red Bike')").await;
    p.write("2_slug.sql", "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;\n");
    let report = run_deploy(&db, p.dir(), None, &DeployOptions::default()).await;
    let f = report.findings.iter().find(|f| f.code == "preflight-null-values").unwrap();
    let fix = f.fix_sql.as_deref().unwrap();
    // Running the suggestion makes the deploy pass.
    db.execute(fix).await;
    let report = run_deploy(&db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 1, "{fix}: {:?}", report.findings);
}

#[tokio::test]
async fn a_table_created_by_an_earlier_pending_migration_is_not_checked() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    let p = Project::new();
    p.write("1_tags.sql", "CREATE TABLE tags (id INT, name TEXT);\n");
    p.write("2_backfill.sql", "INSERT INTO tags VALUES (1, 'a');\n");
    p.write("3_not_null.sql", "ALTER TABLE tags ALTER COLUMN name SET NOT NULL;\n");
    let report = run_deploy(&db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 3, "{:?}", report.findings);
    assert_eq!(report.preflight_checks, 0);
}
