//! `backup verify`: the manifest's own checksum, every file's size and SHA-256, no missing or
//! extra files, the dump readable, and the invariant that every file the backed-up database
//! references is in the generation. Each kind of corruption is its own finding code.
//!
//! Readable means: `pg_restore` reads the whole PostgreSQL dump, the SQLite copy passes
//! `integrity_check`, a MySQL dump runs from its header to `mysqldump`'s closing line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::copy::hash_file;
use super::manifest::{MANIFEST, Manifest};
use super::tools::find_pg_tool;
use crate::db::{ConnectOptions, DatabaseUrl, connect};
use crate::{Finding, Location, Severity};

/// What `backup verify` found for one generation.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The generation id.
    pub id: String,
    /// Its folder.
    pub path: PathBuf,
    /// Files whose checksum was compared.
    pub files_checked: usize,
    /// Bytes read.
    pub bytes_checked: u64,
    /// References checked against the generation's files.
    pub references_checked: usize,
    /// One finding per problem; empty when the generation is sound.
    pub findings: Vec<Finding>,
    /// The manifest, when readable.
    #[serde(skip)]
    pub manifest: Option<Manifest>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.findings.iter().all(|f| f.severity < Severity::Error)
    }
}

fn err(code: &'static str, path: &Path, message: String, help: &str) -> Finding {
    Finding::new(code, Severity::Error, message).at(Location::file(path)).help(help.to_owned())
}

fn all_files(gen_dir: &Path, rel: &str, out: &mut BTreeSet<String>) {
    let dir = if rel.is_empty() { gen_dir.to_path_buf() } else { gen_dir.join(rel) };
    let Ok(read) = fs::read_dir(&dir) else { return };
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            all_files(gen_dir, &r, out);
        } else {
            out.insert(r);
        }
    }
}

const RESTORE_HELP: &str = "this generation is damaged: restore an older one (`cargo dbcheck backup list`)";

/// Verify the generation in `gen_dir`. `pg_bin_dir` is the configured folder of the PostgreSQL
/// tools, if any.
pub async fn verify_generation(gen_dir: &Path, pg_bin_dir: Option<&Path>, threads: usize) -> VerifyReport {
    let id = gen_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut report = VerifyReport {
        id,
        path: gen_dir.to_path_buf(),
        files_checked: 0,
        bytes_checked: 0,
        references_checked: 0,
        findings: Vec::new(),
        manifest: None,
    };
    let manifest_path = gen_dir.join(MANIFEST);
    let manifest = match Manifest::read(gen_dir) {
        Ok(Some(m)) => m,
        Ok(None) => {
            report.findings.push(err(
                "backup-manifest-missing",
                &manifest_path,
                "the generation has no manifest.json".into(),
                RESTORE_HELP,
            ));
            return report;
        }
        Err(reason) => {
            report.findings.push(err(
                "backup-manifest-invalid",
                &manifest_path,
                format!("manifest.json cannot be read: {reason}"),
                RESTORE_HELP,
            ));
            return report;
        }
    };
    if manifest.compute_checksum() != manifest.checksum {
        report.findings.push(err(
            "backup-manifest-checksum",
            &manifest_path,
            "manifest.json does not match its own checksum (it was edited or damaged)".into(),
            RESTORE_HELP,
        ));
    }
    // Files: present, right size, right checksum; nothing else.
    let mut on_disk = BTreeSet::new();
    all_files(gen_dir, "", &mut on_disk);
    on_disk.remove(MANIFEST);
    let listed: BTreeMap<&str, &super::FileEntry> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for extra in on_disk.iter().filter(|p| !listed.contains_key(p.as_str())) {
        report.findings.push(err(
            "backup-file-extra",
            &gen_dir.join(extra),
            format!("{extra} is in the generation but not in its manifest"),
            "something wrote into the generation after it was completed; find out what, then restore an older one or remove the file",
        ));
    }
    let present: Vec<&super::FileEntry> = manifest
        .files
        .iter()
        .filter(|f| {
            let here = on_disk.contains(&f.path);
            if !here {
                report.findings.push(err(
                    "backup-file-missing",
                    &gen_dir.join(&f.path),
                    format!("{} is listed in the manifest but missing", f.path),
                    RESTORE_HELP,
                ));
            }
            here
        })
        .collect();
    let chunks: Vec<Vec<&super::FileEntry>> = {
        let n = threads.max(1);
        let mut c = vec![Vec::new(); n];
        for (i, f) in present.into_iter().enumerate() {
            c[i % n].push(f);
        }
        c
    };
    let results: Vec<Vec<(u64, Option<Finding>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|f| {
                            let path = gen_dir.join(&f.path);
                            match hash_file(&path) {
                                Ok((size, _)) if size != f.size => (
                                    size,
                                    Some(err(
                                        "backup-file-size",
                                        &path,
                                        format!("{} has {size} bytes, the manifest says {}", f.path, f.size),
                                        RESTORE_HELP,
                                    )),
                                ),
                                Ok((size, sha)) if sha != f.sha256 => (
                                    size,
                                    Some(err(
                                        "backup-file-checksum",
                                        &path,
                                        format!("{} does not match its SHA-256 in the manifest", f.path),
                                        RESTORE_HELP,
                                    )),
                                ),
                                Ok((size, _)) => (size, None),
                                Err(e) => (
                                    0,
                                    Some(err(
                                        "backup-file-missing",
                                        &path,
                                        format!("{} cannot be read: {e}", f.path),
                                        RESTORE_HELP,
                                    )),
                                ),
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    for (size, finding) in results.into_iter().flatten() {
        report.files_checked += 1;
        report.bytes_checked += size;
        report.findings.extend(finding);
    }
    // The dump must be readable by the tool that restores it.
    let dump = gen_dir.join(&manifest.dump_path);
    if dump.exists()
        && let Some(problem) = dump_problem(&manifest, &dump, pg_bin_dir).await
    {
        report.findings.push(err(
            "backup-dump-unreadable",
            &dump,
            format!("the database dump cannot be read: {problem}"),
            RESTORE_HELP,
        ));
    }
    // The invariant: every file the backed-up database references is in the generation.
    let refs_path = gen_dir.join("meta/refs.jsonl");
    // A missing refs list is reported as `backup-file-missing` above.
    if let Ok(text) = fs::read_to_string(&refs_path) {
        let mut missing = 0usize;
        let mut example = None;
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if let Some(file) = v.get("file").and_then(|f| f.as_str()) {
                report.references_checked += 1;
                if manifest.missing_at_source.iter().any(|m| m == file) {
                    continue;
                }
                if !listed.contains_key(file) || !on_disk.contains(file) {
                    missing += 1;
                    example.get_or_insert_with(|| file.to_owned());
                }
            }
        }
        if missing > 0 {
            report.findings.push(err(
                "backup-reference-missing",
                &refs_path,
                format!(
                    "{missing} file reference(s) of the backed-up database have no file in the generation, e.g. {}",
                    example.unwrap_or_default()
                ),
                RESTORE_HELP,
            ));
        }
    }
    if !manifest.missing_at_source.is_empty() {
        report.findings.push(
            Finding::new(
                "backup-source-dangling",
                Severity::Warning,
                format!(
                    "{} referenced file(s) did not exist when this safety backup was taken, e.g. {}",
                    manifest.missing_at_source.len(),
                    manifest.missing_at_source[0]
                ),
            )
            .at(Location::file(&manifest_path))
            .help("the database already referenced missing files; `cargo dbcheck files` lists them"),
        );
    }
    report.manifest = Some(manifest);
    report
}

async fn dump_problem(manifest: &Manifest, dump: &Path, pg_bin_dir: Option<&Path>) -> Option<String> {
    match manifest.dump_format.as_str() {
        "sqlite" => {
            let url = match DatabaseUrl::parse(&format!("sqlite://{}?mode=ro", dump.display())) {
                Ok(u) => u,
                Err(e) => return Some(e.to_string()),
            };
            let mut db = match connect(&url, &ConnectOptions::default()).await {
                Ok(db) => db,
                Err(e) => return Some(e.to_string()),
            };
            let problems = db.sqlite_integrity_check().await;
            db.close().await;
            match problems {
                Ok(p) if p.is_empty() => None,
                Ok(p) => Some(p.join("; ")),
                Err(e) => Some(e.to_string()),
            }
        }
        "custom" | "directory" => {
            let major = manifest.snapshot.server_major.unwrap_or(0);
            let tool = match find_pg_tool("pg_restore", major, pg_bin_dir) {
                Ok(t) => t,
                Err(e) => return Some(e.to_string()),
            };
            // `--list` reads the table of contents; a full read into /dev/null decompresses every
            // table's data, which catches a truncated or damaged body too.
            for args in [&["--list"][..], &["-f", "/dev/null"][..]] {
                let out =
                    Command::new(&tool.path).args(args).arg(dump).stdin(Stdio::null()).stdout(Stdio::null()).output();
                match out {
                    Ok(o) if o.status.success() => {}
                    Ok(o) => {
                        return Some(format!("pg_restore {}: {}", args[0], String::from_utf8_lossy(&o.stderr).trim()));
                    }
                    Err(e) => return Some(e.to_string()),
                }
            }
            None
        }
        // The dump's checksum is compared above; here it must be a whole dump, header to the
        // `-- Dump completed` line. Its references were read from this very file when the backup
        // was taken (`meta/refs.jsonl`, itself checksummed), so no server is needed to verify.
        "mysql" => super::tools::mysql_dump_problem(dump),
        other => Some(format!("unknown dump format `{other}`")),
    }
}
