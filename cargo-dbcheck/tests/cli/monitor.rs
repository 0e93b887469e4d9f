//! Monitoring: `--metrics` parsed by a Prometheus text-format parser, `--notify` received by a
//! local HTTP listener.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use dbcheck_tests::{TestDb, require_db};

use crate::project::{TempProject, output_text, sqlx_migrate};

fn scrape(path: &std::path::Path) -> prometheus_parse::Scrape {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).unwrap()
}

fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.samples.iter().find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))).map(
        |s| match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        },
    )
}

#[tokio::test]
async fn metrics_file_parses_and_counts_migration_states() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    p.write("migrations/3_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug VARCHAR(9);\n");
    let metrics = p.path().join("dbcheck.prom");
    let out =
        p.cmd().args(["status", "--database-url", db.url(), "--metrics", metrics.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
    let s = scrape(&metrics);
    assert_eq!(value(&s, "dbcheck_run_failed", &[]), Some(1.0));
    assert_eq!(value(&s, "dbcheck_migrations", &[("project", "app"), ("state", "applied")]), Some(1.0));
    assert_eq!(value(&s, "dbcheck_migrations", &[("state", "pending")]), Some(1.0));
    assert_eq!(value(&s, "dbcheck_migrations", &[("state", "edited")]), Some(1.0));
    assert_eq!(value(&s, "dbcheck_findings", &[("code", "migration-edited"), ("severity", "error")]), Some(1.0));
    assert!(value(&s, "dbcheck_last_run_timestamp_seconds", &[]).is_some_and(|t| t > 1.7e9));
    assert!(s.docs.contains_key("dbcheck_migrations"), "HELP lines are present");
}

#[test]
fn metrics_to_an_unwritable_place_is_a_usage_error() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().args(["--metrics", "/nonexistent-dir/x.prom"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(output_text(&out).1.contains("cannot write metrics"));
}

/// Accept one HTTP request on a local port and return its body.
fn one_request(listener: TcpListener) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").unwrap();
        String::from_utf8(body).unwrap()
    })
}

#[tokio::test]
async fn notify_posts_a_slack_compatible_summary_when_checks_fail() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    std::fs::remove_file(p.path().join("migrations/2_add_slug.sql")).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let received = one_request(listener);
    let out = p.cmd().args(["status", "--database-url", db.url(), "--notify", &url]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
    let body: serde_json::Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("*app* `status`: 1 finding(s)"), "{text}");
    assert!(text.contains("error[migration-missing]"), "{text}");
    assert_eq!(body["dbcheck"]["findings"][0]["code"], "migration-missing");
}

#[test]
fn notify_stays_silent_on_a_clean_run_and_fails_loudly_when_unreachable() {
    let p = TempProject::new("").with_sqlx_migrations();
    // Clean run: nothing is posted, so an unreachable URL does not matter.
    let out = p.cmd().args(["--notify", "http://127.0.0.1:1/hook"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    // A failing run (a warning, with --fail-on warning) and an unreachable webhook: exit 2,
    // URL secrets redacted.
    p.write("migrations/notes.sql", "-- not a migration\n");
    let out =
        p.cmd().args(["--fail-on", "warning", "--notify", "http://u:hook-secret@127.0.0.1:1/hook"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot notify http://u:***@127.0.0.1:1/hook"), "{stderr}");
    assert!(!stderr.contains("hook-secret"), "{stderr}");
}

#[tokio::test]
async fn metrics_cover_integrity_ratios_and_backups() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new(
        "[[package.metadata.dbcheck.integrity.rules]]\ntable = \"ads\"\ncolumn = \"title\"\nnot_null = true\n\n\
         [package.metadata.dbcheck.backup]\ndir = \"backups\"\n",
    )
    .with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    db.execute("INSERT INTO ads (id, title) VALUES (1, 'bike'), (2, NULL), (3, 'lamp'), (4, NULL);").await;
    let metrics = p.path().join("m.prom");
    let m = metrics.to_str().unwrap();

    p.cmd().args(["integrity", "--database-url", db.url(), "--metrics", m]).output().unwrap();
    let s = scrape(&metrics);
    assert_eq!(value(&s, "dbcheck_integrity_violations", &[("rule", "ads.title.not_null")]), Some(2.0));
    assert_eq!(value(&s, "dbcheck_integrity_violation_ratio", &[("rule", "ads.title.not_null")]), Some(0.5));

    let out = p.cmd().args(["backup", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    p.cmd().args(["backup", "list", "--metrics", m]).output().unwrap();
    let s = scrape(&metrics);
    assert!(value(&s, "dbcheck_backup_last_age_seconds", &[]).is_some_and(|a| (0.0..600.0).contains(&a)));
    assert!(value(&s, "dbcheck_backup_last_size_bytes", &[]).is_some_and(|b| b > 0.0));
    p.cmd().args(["backup", "verify", "latest", "--metrics", m]).output().unwrap();
    assert_eq!(value(&scrape(&metrics), "dbcheck_backup_verify_ok", &[]), Some(1.0));
}
