//! Benchmark (issue 7): `cargo dbcheck lint` against `squawk` on the same generated corpus of
//! realistic PostgreSQL migrations, in the same run. Target: dbcheck at least as fast (files/s
//! ratio ≥ 1). Both run as processes over every file; dbcheck additionally interprets the whole
//! history to give each rule the schema before each statement.
//!
//! Needs `squawk` on PATH (`pip install squawk-cli`) or `SQUAWK=/path/to/squawk`, and builds the
//! release `cargo-dbcheck` first.
//!
//! `cargo run --release -p dbcheck-bench --bin lint [-- FILES]` (default 360 files)

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dbcheck_bench::best_of;

/// One realistic migration for step `i` of the corpus: tables with many columns and constraints,
/// functions and triggers with dollar-quoted bodies, backfills, enum types, views, comments,
/// concurrent index builds in their own migrations, NOT VALID + VALIDATE, expand/contract renames
/// and a share of risky changes, in the mix a real history has.
fn migration(i: usize) -> String {
    let t = i / 12;
    let mut s = String::new();
    match i % 12 {
        0 => {
            let _ = write!(
                s,
                "-- Table for domain object {t}: created with its keys, checks and defaults.\n\
                 CREATE TABLE obj{t} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
                 account_id bigint NOT NULL,\n    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),\n    \
                 body text,\n    status text NOT NULL DEFAULT 'draft',\n    price_cents bigint NOT NULL DEFAULT 0 CHECK (price_cents >= 0),\n    \
                 metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,\n    created_at timestamptz NOT NULL DEFAULT now(),\n    \
                 updated_at timestamptz NOT NULL DEFAULT now(),\n    deleted_at timestamptz\n);\n\n\
                 COMMENT ON TABLE obj{t} IS 'domain object {t}';\n\
                 CREATE INDEX obj{t}_account_idx ON obj{t} (account_id);\n\
                 CREATE INDEX obj{t}_created_idx ON obj{t} (created_at DESC) WHERE deleted_at IS NULL;\n"
            );
        }
        1 => {
            let _ = write!(
                s,
                "CREATE OR REPLACE FUNCTION obj{t}_touch() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\n    \
                 -- keep updated_at current; a ; inside the body must not split the statement\n    \
                 NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$;\n\n\
                 CREATE TRIGGER obj{t}_touch BEFORE UPDATE ON obj{t}\n    FOR EACH ROW EXECUTE FUNCTION obj{t}_touch();\n"
            );
        }
        2 => {
            let _ = write!(
                s,
                "ALTER TABLE obj{t} ADD COLUMN slug text;\n\n-- backfill in one go: small table\nUPDATE obj{t}\n   SET slug = lower(regexp_replace(title, '[^a-zA-Z0-9]+', '-', 'g')) || '-' || id\n WHERE slug IS NULL;\n"
            );
        }
        3 => {
            let _ = write!(
                s,
                "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS obj{t}_slug_key ON obj{t} (slug);\n"
            );
        }
        4 => {
            let _ = write!(
                s,
                "SET lock_timeout = '5s';\nALTER TABLE obj{t} ADD CONSTRAINT obj{t}_slug_not_null CHECK (slug IS NOT NULL) NOT VALID;\n"
            );
        }
        5 => {
            let _ = write!(
                s,
                "ALTER TABLE obj{t} VALIDATE CONSTRAINT obj{t}_slug_not_null;\nALTER TABLE obj{t} ALTER COLUMN slug SET NOT NULL;\n\
                 ALTER TABLE obj{t} DROP CONSTRAINT obj{t}_slug_not_null;\n"
            );
        }
        6 => {
            let _ = write!(
                s,
                "CREATE TYPE obj{t}_kind AS ENUM ('standard', 'premium', 'archived');\n\
                 ALTER TABLE obj{t} ADD COLUMN kind obj{t}_kind NOT NULL DEFAULT 'standard';\n\
                 INSERT INTO obj{t} (account_id, title, slug, kind) VALUES\n    (1, 'First', 'first-1', 'standard'),\n    \
                 (2, 'Second', 'second-2', 'premium'),\n    (3, 'Third; with a semicolon', 'third-3', 'standard');\n"
            );
        }
        7 => {
            if t > 0 {
                let _ = write!(
                    s,
                    "ALTER TABLE obj{t} ADD COLUMN parent_id bigint;\n\
                     ALTER TABLE obj{t} ADD CONSTRAINT obj{t}_parent_fk FOREIGN KEY (parent_id) REFERENCES obj{} (id) NOT VALID;\n",
                    t - 1
                );
            } else {
                let _ = writeln!(s, "ALTER TABLE obj{t} ADD COLUMN parent_id bigint;");
            }
        }
        8 => {
            let _ = write!(
                s,
                "CREATE OR REPLACE VIEW obj{t}_live AS\n    SELECT id, account_id, title, slug, price_cents\n      FROM obj{t}\n     WHERE deleted_at IS NULL;\n"
            );
        }
        9 => {
            // Risky changes a linter should catch.
            let _ = write!(
                s,
                "CREATE INDEX obj{t}_status_idx ON obj{t} (status);\nALTER TABLE obj{t} ALTER COLUMN price_cents TYPE integer;\n"
            );
        }
        10 => {
            let _ = write!(
                s,
                "ALTER TABLE obj{t} ADD COLUMN headline text;\nUPDATE obj{t} SET headline = title;\n\
                 ALTER TABLE obj{t} ADD COLUMN score integer DEFAULT 0;\n"
            );
        }
        _ => {
            let _ = write!(
                s,
                "ALTER TABLE obj{t} RENAME COLUMN body TO description;\nALTER TABLE obj{t} DROP COLUMN headline;\n\
                 ALTER TABLE obj{t} ADD COLUMN external_ref varchar(64);\n"
            );
        }
    }
    s
}

fn write_corpus(dir: &Path, files: usize) -> std::io::Result<Vec<PathBuf>> {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations)?;
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("src/lib.rs"), "")?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"corpus\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.dbcheck]\ndialect = \"postgres\"\n",
    )?;
    let mut paths = Vec::new();
    for i in 0..files {
        let path = migrations.join(format!("{}_step_{i}.sql", 20240101000000u64 + i as u64));
        std::fs::write(&path, migration(i))?;
        paths.push(path);
    }
    Ok(paths)
}

fn run(cmd: &mut Command) -> std::process::Output {
    match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cannot run {cmd:?}: {e}");
            std::process::exit(2);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: usize = std::env::args().nth(1).map_or(Ok(360), |a| a.parse())?;
    let squawk = std::env::var("SQUAWK").unwrap_or_else(|_| "squawk".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = run(Command::new(env!("CARGO")).current_dir(&workspace).args([
        "build",
        "--release",
        "-q",
        "-p",
        "cargo-dbcheck",
    ]));
    if !built.status.success() {
        return Err(format!("building cargo-dbcheck failed: {}", String::from_utf8_lossy(&built.stderr)).into());
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| workspace.join("target"), PathBuf::from);
    let dbcheck = target.join("release/cargo-dbcheck");
    let dir = tempfile::tempdir()?;
    let paths = write_corpus(dir.path(), files)?;

    // Both must actually lint: count what each reports, so a broken run is not a fast one.
    let ours_out =
        run(Command::new(&dbcheck).current_dir(dir.path()).args(["lint", "--offline", "--message-format", "json"]));
    let json: serde_json::Value = serde_json::from_slice(&ours_out.stdout)?;
    let our_findings = json["results"][0]["findings"].as_array().map_or(0, Vec::len);
    let linted = json["results"][0]["lint"]["files"].as_u64().unwrap_or(0);
    let theirs_out = run(Command::new(&squawk).args(["--reporter", "gcc"]).args(&paths));
    let their_findings = String::from_utf8_lossy(&theirs_out.stdout).lines().filter(|l| l.contains(": ")).count();
    println!(
        "corpus: {files} files; dbcheck linted {linted} files with {our_findings} findings, squawk reported {their_findings}"
    );
    if linted as usize != files {
        return Err(format!("dbcheck linted {linted} of {files} files").into());
    }

    let runs = 7;
    let (ours, _) = best_of(runs, || {
        run(Command::new(&dbcheck).current_dir(dir.path()).args(["lint", "--offline", "--message-format", "json"]))
    });
    let (theirs, _) = best_of(runs, || run(Command::new(&squawk).args(["--reporter", "gcc"]).args(&paths)));
    let rate = |d: Duration| files as f64 / d.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "lint {files} files: dbcheck {:.3} s ({:.0} files/s), squawk {:.3} s ({:.0} files/s), speed ratio {:.2} (target >= 1.00: at least as fast as squawk)",
        ours.as_secs_f64(),
        rate(ours),
        theirs.as_secs_f64(),
        rate(theirs),
        rate(ours) / rate(theirs)
    );
    Ok(())
}
