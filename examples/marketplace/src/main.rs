//! The marketplace from the guidelines, reduced to its database: it migrates its database the way
//! the app would at startup (with sqlx's own migrator), seeds a few rows, and then asks dbcheck
//! where every migration stands, refusing to "serve" when anything is off.
//!
//! SQLite is the default (`target/marketplace.sqlite3`, created on first run). Set `DATABASE_URL`
//! to a `postgres://` URL to run it against PostgreSQL with the reference `migrations/` folder.

mod models;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, Connection};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("marketplace: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let root = Path::new(MANIFEST_DIR);
    let default_db = root.join("../../target/marketplace.sqlite3");
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", default_db.display()));
    let postgres = url.starts_with("postgres");
    let migrations: PathBuf = if postgres { root.join("../../migrations") } else { root.join("migrations_sqlite") };

    if !postgres && let Some(dir) = default_db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&url).await?;
    let migrator = Migrator::new(migrations.as_path()).await?;
    migrator.run(&mut conn).await?;
    seed(&mut conn).await?;
    // The pages' reads, through the guarded structs.
    let ads = models::listings(&mut conn).await?;
    let images = models::primary_images(&mut conn).await?;
    conn.close().await?;

    // The startup gate: the same check `cargo dbcheck status` runs, as a library call.
    let report = if postgres {
        dbcheck::migration_status_of_dir(&migrations, &url).await?
    } else {
        dbcheck::migration_status(MANIFEST_DIR, &url).await?
    };
    let summary = report.summary();
    println!("marketplace database: {}", dbcheck::db::redact_url(&url));
    for e in &report.entries {
        println!("  {:<16} {:<36} {}", e.version, e.name, e.state.label());
    }
    println!("{} migrations: {} applied, {} pending", summary.total, summary.applied, summary.pending);
    let problems: Vec<_> = report.findings.iter().filter(|f| f.severity >= dbcheck::Severity::Warning).collect();
    for f in &problems {
        println!("{}[{}]: {}", f.severity, f.code, f.message);
    }
    if dbcheck::max_severity(&report.findings) == Some(dbcheck::Severity::Error) {
        println!("refusing to serve: the database does not match the migrations");
        return Ok(ExitCode::FAILURE);
    }
    for ad in &ads {
        let image = images.iter().find(|i| i.ad_id == ad.id).map_or("no image", |i| i.file_path.as_str());
        println!("  ad {} /ads/{} {:?} ({image})", ad.id, ad.slug, ad.title);
    }
    println!("ready to serve");
    Ok(ExitCode::SUCCESS)
}

/// A few rows, inserted once.
async fn seed(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *conn).await?;
    if existing > 0 {
        return Ok(());
    }
    for sql in [
        "INSERT INTO users (email, display_name) VALUES ('asha@example.com', 'Asha')",
        "INSERT INTO categories (name) VALUES ('Bikes')",
        "INSERT INTO ads (user_id, category_id, title, price, slug) VALUES (1, 1, 'Red bike', 120.00, 'red-bike-1')",
        "INSERT INTO ad_images (ad_id, file_path, is_primary) VALUES (1, 'ads/1/red-bike.jpg', TRUE)",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}
