//! A throwaway PostgreSQL cluster, started once per test process when
//! `DBCHECK_TEST_POSTGRES_URL` is unset.
//!
//! Tests run on many tokio runtimes (one per `#[tokio::test]`), so the cluster is started
//! synchronously with `std::process::Command` inside a [`OnceLock`]. `initdb` and `pg_ctl` refuse
//! to run as root, so as root they run as the `postgres` user (`runuser`, else `su`). A detached
//! watchdog shell stops the cluster and removes its directory once the test process has exited.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A running throwaway cluster.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub(crate) admin_url: String,
}

/// The process-wide throwaway cluster, started on first use; `Err` says why there is none.
pub(crate) fn throwaway() -> Result<&'static Cluster, String> {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    CLUSTER.get_or_init(start).as_ref().map_err(Clone::clone)
}

#[cfg(not(unix))]
fn start() -> Result<Cluster, String> {
    Err("throwaway clusters are only supported on Unix".to_owned())
}

#[cfg(unix)]
fn start() -> Result<Cluster, String> {
    use std::process::{Command, Stdio};

    let bindir = find_bindir()
        .ok_or_else(|| "no `initdb` in PATH or /usr/lib/postgresql/*/bin to start a throwaway cluster".to_owned())?;
    let (initdb, pg_ctl) = (bindir.join("initdb"), bindir.join("pg_ctl"));
    if !pg_ctl.is_file() {
        return Err(format!("found {} but no pg_ctl next to it", initdb.display()));
    }
    let run_as = if is_root() { Some(RunAs::detect()?) } else { None };

    let base = tempfile::Builder::new()
        .prefix("dbcheck-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?
        .keep();
    let data = base.join("data");
    let sock = base.join("sock");
    let (base_s, data_s, sock_s) = (utf8(&base)?, utf8(&data)?, utf8(&sock)?);

    // The watchdog first, so that the directory goes even if this process dies mid-start.
    let stop = shell_command(run_as.as_ref(), &[utf8(&pg_ctl)?, "stop", "-m", "immediate", "-D", data_s]);
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {base}",
        pid = std::process::id(),
        base = shell_quote(base_s),
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &watchdog]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    detach(&mut cmd);
    if let Err(e) = cmd.spawn() {
        let _ = std::fs::remove_dir_all(&base);
        return Err(format!("cannot spawn the cluster watchdog: {e}"));
    }

    let started = (|| {
        std::fs::create_dir(&sock).map_err(|e| format!("cannot create {sock_s}: {e}"))?;
        if let Some(run_as) = &run_as {
            for dir in [&base, &sock] {
                std::os::unix::fs::chown(dir, Some(run_as.uid), Some(run_as.gid))
                    .map_err(|e| format!("cannot chown {} to postgres: {e}", dir.display()))?;
            }
        }
        let initdb_args = ["-D", data_s, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"];
        run(&mut command(run_as.as_ref(), &initdb, &initdb_args, &base), "initdb")?;
        // The port is free when picked but may be taken before the server binds it: retry.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let opts = format!("-k {} -p {port} -h 127.0.0.1 -F", shell_quote(sock_s));
            let log = base.join("server.log");
            let args = ["-D", data_s, "-l", utf8(&log)?, "-w", "-t", "60", "-o", &opts, "start"];
            let mut cmd = command(run_as.as_ref(), &pg_ctl, &args, &base);
            // Own process group: a Ctrl-C on the test run must not kill the server before the
            // watchdog can stop it and remove its files.
            detach(&mut cmd);
            match run(&mut cmd, "pg_ctl start") {
                Ok(()) => return Ok(port),
                Err(e) => {
                    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
                    last_error = format!("{e}\n--- server log ---\n{server_log}");
                }
            }
        }
        Err(last_error)
    })();

    match started {
        Ok(port) => Ok(Cluster { admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres") }),
        Err(e) => {
            let _ = command(run_as.as_ref(), &pg_ctl, &["stop", "-m", "immediate", "-D", data_s], &base)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = std::fs::remove_dir_all(&base);
            Err(format!("starting a throwaway cluster failed: {e}"))
        }
    }
}

/// Puts the command in a process group of its own.
#[cfg(unix)]
fn detach(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    cmd.process_group(0);
}

/// Runs `cmd` to completion, returning its output as the error when it fails.
#[cfg(unix)]
fn run(cmd: &mut std::process::Command, what: &str) -> Result<(), String> {
    use std::process::Stdio;
    // Output goes to a file, not a pipe: the postmaster outlives pg_ctl and could hold a pipe
    // open.
    let out = tempfile::tempfile().map_err(|e| format!("cannot create a temporary file: {e}"))?;
    let err = out.try_clone().map_err(|e| format!("cannot clone a file handle: {e}"))?;
    let mut reader = out.try_clone().map_err(|e| format!("cannot clone a file handle: {e}"))?;
    let status =
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).status().map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    use std::io::{Read as _, Seek as _};
    let mut output = String::new();
    let _ = reader.rewind();
    let _ = reader.read_to_string(&mut output);
    Err(format!("{what} failed ({status}):\n{output}"))
}

/// The user `initdb`/`pg_ctl` run as when this process is root.
#[derive(Debug)]
struct RunAs {
    uid: u32,
    gid: u32,
    /// `runuser`, if installed; otherwise `su` is used.
    runuser: Option<PathBuf>,
}

impl RunAs {
    fn detect() -> Result<RunAs, String> {
        let id = |flag: &str| -> Option<u32> {
            let out = std::process::Command::new("id").args([flag, "postgres"]).output().ok()?;
            if !out.status.success() {
                return None;
            }
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        let (Some(uid), Some(gid)) = (id("-u"), id("-g")) else {
            return Err("running as root (initdb refuses to) and there is no `postgres` user \
                        to run it as"
                .to_owned());
        };
        let runuser = find_program("runuser", &["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        Ok(RunAs { uid, gid, runuser })
    }
}

/// `program args…` run as `run_as` (or directly), in directory `cwd`.
fn command(run_as: Option<&RunAs>, program: &Path, args: &[&str], cwd: &Path) -> std::process::Command {
    let mut cmd = match run_as {
        None => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(args);
            cmd
        }
        Some(RunAs { runuser: Some(runuser), .. }) => {
            let mut cmd = std::process::Command::new(runuser);
            cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
            cmd
        }
        Some(RunAs { runuser: None, .. }) => {
            let mut argv = vec![program.to_string_lossy().into_owned()];
            argv.extend(args.iter().map(|a| (*a).to_owned()));
            let script = argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ");
            let mut cmd = std::process::Command::new("su");
            cmd.args(["-s", "/bin/sh", "-c", &script, "postgres"]);
            cmd
        }
    };
    cmd.current_dir(cwd);
    cmd
}

/// The shell text running `argv` as `run_as` (or directly).
fn shell_command(run_as: Option<&RunAs>, argv: &[&str]) -> String {
    let quoted = argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ");
    match run_as {
        None => quoted,
        Some(RunAs { runuser: Some(runuser), .. }) => {
            format!("{} -u postgres -- {quoted}", shell_quote(&runuser.to_string_lossy()))
        }
        Some(RunAs { runuser: None, .. }) => {
            format!("su -s /bin/sh -c {} postgres", shell_quote(&quoted))
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn utf8(path: &Path) -> Result<&str, String> {
    path.to_str().ok_or_else(|| format!("path is not UTF-8: {}", path.display()))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free TCP port: {e}"))
}

/// Whether this process runs as root (effective uid 0).
fn is_root() -> bool {
    let from_proc = std::fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        let line = status.lines().find(|l| l.starts_with("Uid:"))?;
        // Uid: real effective saved filesystem
        line.split_whitespace().nth(2).map(|euid| euid == "0")
    });
    from_proc.unwrap_or_else(|| {
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    })
}

/// The directory holding `initdb` (and `pg_ctl`): from PATH, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian does not put `initdb` in PATH).
fn find_bindir() -> Option<PathBuf> {
    if let Some(initdb) = find_program("initdb", &[]) {
        // Follow symlinks such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb,
        // so that pg_ctl is looked up next to the real binary.
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        return real.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// `name` found in PATH or in one of `extra` directories.
fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}
