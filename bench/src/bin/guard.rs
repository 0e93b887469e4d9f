//! Benchmark (issue 5): what `#[schema_guard]` adds to compile times. A generated crate with 50
//! guarded structs over a 300-migration PostgreSQL history (the shape of `static.rs`'s history),
//! and the same crate without the attribute, both depending on the workspace's `dbcheck` through
//! a path and sharing the workspace's target directory (dependencies built once, before timing).
//! Measured: a clean `cargo check` of the crate (`cargo clean -p <crate>` first) and an
//! incremental one (a source file touched), best of several runs. Targets: ≤ 1 s added clean,
//! ≤ 100 ms added incremental.
//!
//! `cargo run --release -p dbcheck-bench --bin guard`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use dbcheck_bench::{best_of, write_history};
use dbcheck_core::guard::{SchemaSource, fingerprint, load_schema};

const MIGRATIONS: usize = 300;
const STRUCTS: usize = 50;
const RUNS: usize = 5;

/// The crate `name` in `dir`: 50 structs over `t0`, `t5`, …, guarded or not.
fn write_crate(dir: &Path, name: &str, guarded: bool, workspace: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    let dbcheck = workspace.join("dbcheck");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n\
             dbcheck = {{ path = {:?} }}\nchrono = {{ version = \"0.4\", default-features = false }}\n\
             rust_decimal = {{ version = \"1\", default-features = false }}\n\n\
             [package.metadata.dbcheck]\ndialect = \"postgres\"\n\n[workspace]\n\n\
             [profile.dev.package.\"*\"]\ndebug = false\n\n[profile.dev]\ndebug = \"line-tables-only\"\n",
            dbcheck.display().to_string()
        ),
    )?;
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    write_history(&dir.join("migrations"), MIGRATIONS)?;
    let mut models = String::from("//! Generated models.\n#![allow(dead_code)]\n\n");
    for k in 0..STRUCTS {
        let t = k * 5;
        if guarded {
            models.push_str(&format!("#[dbcheck::schema_guard(table = \"t{t}\", exhaustive)]\n"));
        }
        models.push_str(&format!(
            "pub struct Row{t} {{\n    pub id: i64,\n    pub parent_id: Option<i64>,\n    pub name: String,\n    \
             pub price: Option<rust_decimal::Decimal>,\n    pub created_at: chrono::DateTime<chrono::Utc>,\n    \
             pub handle: String,\n}}\n\n"
        ));
    }
    std::fs::write(dir.join("src/models.rs"), models)?;
    std::fs::write(dir.join("src/lib.rs"), "//! Guard benchmark crate.\npub mod models;\n")?;
    Ok(())
}

/// Run cargo in `dir`; the time and the packages it compiled or checked.
fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Result<(Duration, Vec<String>), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = Instant::now();
    let out = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("DBCHECK_MANIFEST_DIR")
        .output()
        .map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("cargo {args:?} failed in {}:\n{stderr}", dir.display()));
    }
    let built = stderr
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Compiling ") || l.starts_with("Checking "))
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_owned())
        .collect();
    Ok((elapsed, built))
}

/// A `cargo check` that built only `name`; `None` when it also rebuilt a dependency (the
/// workspace's crates are edited while this runs on a shared checkout), so the sample is dropped.
fn check_only(dir: &Path, name: &str, target: &Path) -> Result<Option<Duration>, String> {
    let (time, built) = cargo(dir, target, &["check", "--offline"])?;
    Ok(built.iter().all(|b| b == name).then_some(time))
}

/// One clean and one incremental `cargo check` of the crate `name` in `dir` (each `None` when it
/// also rebuilt a dependency).
fn round(dir: &Path, name: &str, target: &Path) -> Result<(Option<Duration>, Option<Duration>), String> {
    cargo(dir, target, &["clean", "--offline", "-p", name])?;
    let clean = check_only(dir, name, target)?;
    let lib = std::fs::File::options().append(true).open(dir.join("src/lib.rs")).map_err(|e| e.to_string())?;
    lib.set_modified(SystemTime::now()).map_err(|e| e.to_string())?;
    Ok((clean, check_only(dir, name, target)?))
}

/// Best clean and incremental times of both crates over `RUNS` valid samples each, the two
/// crates measured in alternation so that both see the same machine load.
fn measure(crates: [(&Path, &str); 2], target: &Path) -> Result<[(Duration, Duration); 2], String> {
    let mut samples: [(Vec<Duration>, Vec<Duration>); 2] = Default::default();
    // Warm: dependencies (dbcheck, the macro, chrono, rust_decimal) are built before timing.
    for (dir, _) in crates {
        cargo(dir, target, &["check", "--offline"])?;
    }
    for _ in 0..RUNS * 4 {
        if samples.iter().all(|(c, i)| c.len() >= RUNS && i.len() >= RUNS) {
            break;
        }
        for (k, (dir, name)) in crates.iter().enumerate() {
            let (clean, incremental) = round(dir, name, target)?;
            samples[k].0.extend(clean);
            samples[k].1.extend(incremental);
        }
    }
    let best = |(c, i): &(Vec<Duration>, Vec<Duration>)| match (c.iter().min(), i.iter().min()) {
        (Some(c), Some(i)) => Ok((*c, *i)),
        _ => Err("no run without dependency rebuilds".to_owned()),
    };
    Ok([best(&samples[0])?, best(&samples[1])?])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace")?.to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from);
    let work = tempfile::tempdir()?;
    let on = work.path().join("on");
    let off = work.path().join("off");
    write_crate(&on, "guard-bench-on", true, &workspace)?;
    write_crate(&off, "guard-bench-off", false, &workspace)?;
    let [(off_clean, off_incr), (on_clean, on_incr)] =
        measure([(&off, "guard-bench-off"), (&on, "guard-bench-on")], &target)?;
    // The timed guards really check: one wrong field fails the build with the guard's message.
    let models = std::fs::read_to_string(on.join("src/models.rs"))?;
    std::fs::write(on.join("src/models.rs"), models.replacen("pub handle: String", "pub handle: Option<String>", 1))?;
    match cargo(&on, &target, &["check", "--offline"]) {
        Err(e) if e.contains("`t0.handle` is NOT NULL since migrations/") => {}
        other => return Err(format!("a wrong field should fail the guarded crate's check: {other:?}").into()),
    }
    std::fs::write(on.join("src/models.rs"), models)?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // What one expansion costs at most: the first loads the schema, the others (within a second)
    // reuse it; a later look at the disk is one fingerprint. Run in this binary's profile.
    let source = SchemaSource { root: on.clone(), migrations: None, dialect: None };
    let (load, loaded) = best_of(RUNS, || load_schema(&source));
    let (look, _) = best_of(RUNS, || fingerprint(&source));
    println!(
        "schema load {:.1} ms ({} tables, {} files tracked), fingerprint {:.2} ms",
        ms(load),
        loaded?.schema.schema.tables.len(),
        source.root.join("migrations").read_dir()?.count(),
        ms(look)
    );
    println!("{STRUCTS} structs over {MIGRATIONS} migrations, cargo check, best of {RUNS}:");
    println!(
        "clean:       without attribute {:.0} ms, with {:.0} ms, added {:.0} ms (target <= 1000 ms)",
        ms(off_clean),
        ms(on_clean),
        ms(on_clean) - ms(off_clean)
    );
    println!(
        "incremental: without attribute {:.0} ms, with {:.0} ms, added {:.0} ms (target <= 100 ms)",
        ms(off_incr),
        ms(on_incr),
        ms(on_incr) - ms(off_incr)
    );
    Ok(())
}
