//! The SQL behind `backup` and `restore`: the exported snapshot (PostgreSQL `pg_export_snapshot()`
//! in a `REPEATABLE READ READ ONLY` transaction), row counts read inside it, SQLite `VACUUM INTO`
//! and `integrity_check`, the schema text of a SQLite copy, MySQL's non-transactional tables, and
//! the server-side steps of a restore (connections, create, rename; MySQL's table swap).

use std::path::Path;

use super::{Db, DbError, Dialect, quote_table};

/// What identifies the instant a backup was taken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The exported snapshot id (PostgreSQL), which `pg_dump --snapshot` imports.
    pub id: Option<String>,
    /// The WAL position at the snapshot (PostgreSQL).
    pub lsn: Option<String>,
    /// The server's clock at the snapshot.
    pub time: String,
    /// The server's version string.
    pub server_version: String,
    /// The server's major version (PostgreSQL), for picking the matching `pg_dump`.
    pub server_major: Option<u32>,
    /// PostgreSQL: `<system identifier>/<database oid>`, absent when the database has unlogged
    /// tables (whose changes write no WAL). With an unchanged LSN it means nothing changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_key: Option<String>,
}

impl Db {
    /// Open the backup's snapshot. PostgreSQL: start a `REPEATABLE READ READ ONLY` transaction and
    /// export its snapshot; every later query on this connection reads the same instant until
    /// [`Db::end_snapshot`]. SQLite: a read transaction (the copy itself is made by
    /// [`Db::sqlite_vacuum_into`], which is a snapshot on its own).
    pub async fn begin_snapshot(&mut self) -> Result<Snapshot, DbError> {
        match self.dialect() {
            Dialect::Postgres => {
                self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting the backup snapshot").await?;
                let rows = self
                    .text_rows(
                        "SELECT pg_export_snapshot(), \
                         (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text, \
                         to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
                         current_setting('server_version'), current_setting('server_version_num'), \
                         CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relpersistence = 'u') THEN NULL \
                         ELSE (SELECT system_identifier::text FROM pg_control_system()) || '/' || \
                         (SELECT oid::text FROM pg_catalog.pg_database WHERE datname = current_database()) END"
                            .to_owned(),
                        "exporting the backup snapshot",
                    )
                    .await?;
                let row = rows.into_iter().next().unwrap_or_default();
                let get = |i: usize| row.get(i).cloned().flatten();
                let num: Option<u32> = get(4).and_then(|n| n.parse().ok());
                Ok(Snapshot {
                    id: get(0),
                    lsn: get(1),
                    time: get(2).unwrap_or_default(),
                    server_version: get(3).unwrap_or_default(),
                    server_major: num.map(|n| n / 10000),
                    reuse_key: get(5),
                })
            }
            Dialect::Sqlite => {
                let rows = self
                    .text_rows(
                        "SELECT sqlite_version(), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')".to_owned(),
                        "reading the SQLite version",
                    )
                    .await?;
                let row = rows.into_iter().next().unwrap_or_default();
                Ok(Snapshot {
                    id: None,
                    lsn: None,
                    time: row.get(1).cloned().flatten().unwrap_or_default(),
                    server_version: format!("SQLite {}", row.first().cloned().flatten().unwrap_or_default()),
                    server_major: None,
                    reuse_key: None,
                })
            }
            // The snapshot is `mysqldump --single-transaction`'s own; this records the server
            // and its clock just before the dump starts. Nothing else is read here: the rest comes
            // from the dump itself.
            Dialect::Mysql => {
                let rows = self
                    .text_rows(
                        "SELECT VERSION(), DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')".to_owned(),
                        "reading the server version",
                    )
                    .await?;
                let row = rows.into_iter().next().unwrap_or_default();
                let version = row.first().cloned().flatten().unwrap_or_default();
                Ok(Snapshot {
                    id: None,
                    lsn: None,
                    time: row.get(1).cloned().flatten().unwrap_or_default(),
                    server_major: version.split(|c: char| !c.is_ascii_digit()).next().and_then(|m| m.parse().ok()),
                    server_version: version,
                    reuse_key: None,
                })
            }
        }
    }

    /// The `CREATE` statements of this SQLite database in creation order, each ending with `;`.
    pub async fn sqlite_schema_sql(&mut self) -> Result<String, DbError> {
        let rows = self
            .text_rows(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid".to_owned(),
                "reading the schema of the SQLite copy",
            )
            .await?;
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).map(|s| format!("{s};\n")).collect())
    }

    /// MySQL: the tables of the current database whose engine is not InnoDB (`name (ENGINE)`);
    /// `mysqldump --single-transaction` reads only InnoDB tables from its snapshot.
    pub async fn mysql_nontransactional_tables(&mut self) -> Result<Vec<String>, DbError> {
        let sql = "SELECT CONCAT(TABLE_NAME, ' (', COALESCE(ENGINE, '?'), ')') FROM information_schema.TABLES \
                   WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
                   AND COALESCE(ENGINE, '') <> 'InnoDB' ORDER BY TABLE_NAME";
        let rows = self.text_rows(sql.to_owned(), "looking for non-transactional tables").await?;
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect())
    }

    /// MySQL: the tables (base tables and sequences, not views) of database `name`.
    pub async fn mysql_tables_of(&mut self, name: &str) -> Result<Vec<String>, DbError> {
        let sql = format!(
            "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} \
             AND TABLE_TYPE <> 'VIEW' ORDER BY TABLE_NAME",
            Dialect::Mysql.quote_literal(name)
        );
        let rows = self.text_rows(sql, "listing the tables to swap").await?;
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect())
    }

    /// MySQL: the triggers, routines and events of database `name`, with the statements that
    /// create them again (`SHOW CREATE …`, read with `name` as the default database so that its
    /// own tables are not qualified), in an order that recreates them faithfully (triggers of one
    /// table and timing by their action order).
    pub async fn mysql_objects(&mut self, name: &str) -> Result<Vec<MysqlObject>, DbError> {
        let d = Dialect::Mysql;
        let n = d.quote_literal(name);
        let sql = format!(
            "SELECT 'TRIGGER', CAST(TRIGGER_NAME AS CHAR) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = {n} \
             UNION ALL SELECT CAST(ROUTINE_TYPE AS CHAR), CAST(ROUTINE_NAME AS CHAR) FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = {n} \
             UNION ALL SELECT 'EVENT', CAST(EVENT_NAME AS CHAR) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {n}"
        );
        let mut listed: Vec<(MysqlObjectKind, String)> = Vec::new();
        for r in self.text_rows(sql, "listing triggers, routines and events").await? {
            let (Some(kind), Some(object)) = (r.first().cloned().flatten(), r.get(1).cloned().flatten()) else {
                continue;
            };
            if let Some(kind) = MysqlObjectKind::parse(&kind) {
                listed.push((kind, object));
            }
        }
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        // Triggers in action order, so that recreating them one after another keeps that order.
        let order = format!(
            "SELECT CAST(TRIGGER_NAME AS CHAR) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = {n} \
             ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER"
        );
        let ordered: Vec<String> = self
            .text_rows(order, "ordering the triggers")
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        listed.sort_by_key(|(kind, object)| (*kind, ordered.iter().position(|t| t == object)));
        self.execute(&format!("USE {}", d.quote_ident(name)), "reading triggers, routines and events").await?;
        let mut out = Vec::new();
        let mut failure = None;
        for (kind, object) in listed {
            let show = format!("SHOW CREATE {} {}", kind.keyword(), d.quote_ident(&object));
            match self.text_rows_unprepared(show, "reading a trigger, routine or event").await {
                Ok(rows) => {
                    let Some(row) = rows.into_iter().next() else { continue };
                    let cell = |i: usize| row.get(i).cloned().flatten();
                    // Columns: name, sql_mode, then for events time_zone; the CREATE statement next.
                    let (time_zone, create) = match kind {
                        MysqlObjectKind::Event => (cell(2), cell(3)),
                        _ => (None, cell(2)),
                    };
                    let Some(create) = create else { continue };
                    out.push(MysqlObject {
                        kind,
                        name: object,
                        create,
                        sql_mode: cell(1).unwrap_or_default(),
                        time_zone,
                    });
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        self.execute("USE information_schema", "reading triggers, routines and events").await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// MySQL: drop `objects` (of [`Db::mysql_objects`]) from database `target`.
    pub async fn mysql_drop_objects(&mut self, target: &str, objects: &[MysqlObject]) -> Result<(), DbError> {
        let d = Dialect::Mysql;
        for o in objects {
            let sql =
                format!("DROP {} IF EXISTS {}.{}", o.kind.keyword(), d.quote_ident(target), d.quote_ident(&o.name));
            self.execute(&sql, "dropping a trigger, routine or event").await?;
        }
        Ok(())
    }

    /// MySQL: create `objects` (of [`Db::mysql_objects`]) in database `target`, each under the
    /// `sql_mode` (and, for events, the time zone) it was defined with. Returns the objects that
    /// could not be created, with the server's message.
    pub async fn mysql_create_objects(
        &mut self,
        target: &str,
        objects: &[MysqlObject],
    ) -> Result<Vec<String>, DbError> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let d = Dialect::Mysql;
        let ctx = "creating triggers, routines and events";
        self.execute(
            &format!(
                "USE {}; SET @dbcheck_mode = @@SESSION.sql_mode, @dbcheck_tz = @@SESSION.time_zone",
                d.quote_ident(target)
            ),
            ctx,
        )
        .await?;
        let mut failed = Vec::new();
        for o in objects {
            let mut set = format!("SET SESSION sql_mode = {}", d.quote_literal(&o.sql_mode));
            if let Some(tz) = &o.time_zone {
                set.push_str(&format!(", SESSION time_zone = {}", d.quote_literal(tz)));
            }
            let created = match self.execute(&set, ctx).await {
                Ok(()) => self.execute(&o.create, ctx).await,
                Err(e) => Err(e),
            };
            if let Err(e) = created {
                failed.push(format!("{} {}: {e}", o.kind.keyword().to_lowercase(), o.name));
            }
        }
        self.execute(
            "SET SESSION sql_mode = @dbcheck_mode, SESSION time_zone = @dbcheck_tz; USE information_schema",
            ctx,
        )
        .await?;
        Ok(failed)
    }

    /// MySQL: the views of database `name` as `(name, CREATE VIEW statement)`, the statements read
    /// with `name` as the default database so that its own tables are not qualified (and the
    /// statement creates the same view in whichever database is current).
    pub async fn mysql_views(&mut self, name: &str) -> Result<Vec<(String, String)>, DbError> {
        let d = Dialect::Mysql;
        let sql = format!(
            "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {} ORDER BY TABLE_NAME",
            d.quote_literal(name)
        );
        let names: Vec<String> = self
            .text_rows(sql, "listing the views")
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        self.execute(&format!("USE {}", d.quote_ident(name)), "reading the views").await?;
        let mut out = Vec::new();
        for v in names {
            let rows = self.text_rows(format!("SHOW CREATE VIEW {}", d.quote_ident(&v)), "reading a view").await;
            let rows = match rows {
                Ok(r) => r,
                Err(e) => {
                    let _ = self.execute("USE information_schema", "reading the views").await;
                    return Err(e);
                }
            };
            if let Some(create) = rows.into_iter().next().and_then(|r| r.get(1).cloned().flatten()) {
                out.push((v, create));
            }
        }
        self.execute("USE information_schema", "reading the views").await?;
        Ok(out)
    }

    /// MySQL: in database `target`, drop the views named `drop`, then run the `create` statements
    /// of [`Db::mysql_views`] — retried while any succeeds, so a view over another view waits for
    /// it. Returns the views that could not be created, with the server's message.
    pub async fn mysql_replace_views(
        &mut self,
        target: &str,
        drop: &[String],
        create: &[(String, String)],
    ) -> Result<Vec<String>, DbError> {
        let d = Dialect::Mysql;
        self.execute(&format!("USE {}", d.quote_ident(target)), "replacing the views").await?;
        let result = async {
            for v in drop {
                self.execute(&format!("DROP VIEW IF EXISTS {}", d.quote_ident(v)), "dropping a view").await?;
            }
            let mut pending: Vec<&(String, String)> = create.iter().collect();
            loop {
                let mut failed = Vec::new();
                let mut errors = Vec::new();
                for item in &pending {
                    if let Err(e) = self.execute(&item.1, "creating a view").await {
                        failed.push(*item);
                        errors.push(format!("{}: {e}", item.0));
                    }
                }
                if failed.is_empty() || failed.len() == pending.len() {
                    return Ok(errors);
                }
                pending = failed;
            }
        }
        .await;
        self.execute("USE information_schema", "replacing the views").await?;
        result
    }

    /// MySQL: the default character set and collation of database `name`, when it exists.
    pub async fn mysql_database_charset(&mut self, name: &str) -> Result<Option<(String, String)>, DbError> {
        let sql = format!(
            "SELECT CAST(DEFAULT_CHARACTER_SET_NAME AS CHAR), CAST(DEFAULT_COLLATION_NAME AS CHAR) \
             FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
            Dialect::Mysql.quote_literal(name)
        );
        let rows = self.text_rows(sql, "looking up the database").await?;
        Ok(rows.into_iter().next().and_then(|r| Some((r.first().cloned().flatten()?, r.get(1).cloned().flatten()?))))
    }

    /// MySQL: `CREATE DATABASE name` with the given default character set and collation.
    pub async fn mysql_create_database(
        &mut self,
        name: &str,
        charset: Option<&(String, String)>,
    ) -> Result<(), DbError> {
        let d = Dialect::Mysql;
        let mut sql = format!("CREATE DATABASE {}", d.quote_ident(name));
        if let Some((cs, coll)) = charset {
            sql.push_str(&format!(" CHARACTER SET {} COLLATE {}", d.quote_ident(cs), d.quote_ident(coll)));
        }
        self.execute(&sql, "creating the database to restore into").await
    }

    /// MySQL: move every table of `target` into `old` and every table of `fresh` into `target`, in
    /// one `RENAME TABLE` statement (all or nothing), waiting at most `lock_wait_s` for locks.
    pub async fn mysql_swap_tables(
        &mut self,
        target: &str,
        fresh: &str,
        old: &str,
        lock_wait_s: u64,
    ) -> Result<(), DbError> {
        let d = Dialect::Mysql;
        let q = |db: &str, t: &str| format!("{}.{}", d.quote_ident(db), d.quote_ident(t));
        let mut pairs = Vec::new();
        for t in self.mysql_tables_of(target).await? {
            pairs.push(format!("{} TO {}", q(target, &t), q(old, &t)));
        }
        for t in self.mysql_tables_of(fresh).await? {
            pairs.push(format!("{} TO {}", q(fresh, &t), q(target, &t)));
        }
        if pairs.is_empty() {
            return Ok(());
        }
        self.execute(&format!("SET SESSION lock_wait_timeout = {lock_wait_s}"), "swapping the restored tables in")
            .await?;
        self.execute(&format!("RENAME TABLE {}", pairs.join(", ")), "swapping the restored tables in").await
    }

    /// End the snapshot transaction (PostgreSQL); nothing to do elsewhere.
    pub async fn end_snapshot(&mut self) -> Result<(), DbError> {
        match self.dialect() {
            Dialect::Postgres => self.execute("COMMIT", "ending the backup snapshot").await,
            _ => Ok(()),
        }
    }

    /// How many rows of `table` (with the optional `filter`) there are, in the current snapshot.
    pub async fn count_rows(&mut self, table: &str, filter: Option<&str>) -> Result<u64, DbError> {
        let d = self.dialect();
        let cond = filter.map(|f| format!(" WHERE ({f})")).unwrap_or_default();
        let t = quote_table(d, table);
        let sql = match d {
            Dialect::Postgres => format!("SELECT count(*)::text FROM {t}{cond}"),
            Dialect::Sqlite => format!("SELECT CAST(count(*) AS TEXT) FROM {t}{cond}"),
            Dialect::Mysql => format!("SELECT CAST(count(*) AS CHAR) FROM {t}{cond}"),
        };
        let rows = self.text_rows(sql, &format!("counting the rows of {table}")).await?;
        Ok(rows.first().and_then(|r| r.first()).cloned().flatten().and_then(|n| n.parse().ok()).unwrap_or(0))
    }

    /// Whether `table` (`schema.table` accepted) exists.
    pub async fn table_exists(&mut self, table: &str) -> Result<bool, DbError> {
        let d = self.dialect();
        let sql = match d {
            Dialect::Postgres => format!(
                "SELECT to_regclass({})::text WHERE to_regclass({0}) IS NOT NULL",
                d.quote_literal(&quote_table(d, table))
            ),
            Dialect::Sqlite => format!(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = {}",
                d.quote_literal(table)
            ),
            Dialect::Mysql => format!(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = {}",
                d.quote_literal(table)
            ),
        };
        Ok(!self.text_rows(sql, &format!("looking up the table {table}")).await?.is_empty())
    }

    /// Copy this SQLite database into `path` as one consistent snapshot (`VACUUM INTO`).
    pub async fn sqlite_vacuum_into(&mut self, path: &Path) -> Result<(), DbError> {
        let target = Dialect::Sqlite.quote_literal(&path.to_string_lossy());
        self.execute(&format!("VACUUM INTO {target}"), "copying the SQLite database (VACUUM INTO)").await
    }

    /// `PRAGMA integrity_check` (SQLite): the problems it reports, empty when the file is sound.
    pub async fn sqlite_integrity_check(&mut self) -> Result<Vec<String>, DbError> {
        let rows = self.text_rows("PRAGMA integrity_check".to_owned(), "checking the SQLite copy").await?;
        let lines: Vec<String> = rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
        Ok(if lines.len() == 1 && lines[0] == "ok" { Vec::new() } else { lines })
    }

    /// Sessions connected to database `name` other than this one (PostgreSQL `pg_stat_activity`;
    /// MySQL `PROCESSLIST`, which shows other users' sessions only with the `PROCESS` privilege).
    pub async fn other_connections(&mut self, name: &str) -> Result<u64, DbError> {
        let d = self.dialect();
        let sql = match d {
            Dialect::Mysql => format!(
                "SELECT CAST(COUNT(*) AS CHAR) FROM information_schema.PROCESSLIST WHERE DB = {} AND ID <> CONNECTION_ID()",
                d.quote_literal(name)
            ),
            _ => format!(
                "SELECT count(*)::text FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
                Dialect::Postgres.quote_literal(name)
            ),
        };
        let rows = self.text_rows(sql, "counting the connections to the database").await?;
        Ok(rows.first().and_then(|r| r.first()).cloned().flatten().and_then(|n| n.parse().ok()).unwrap_or(0))
    }

    /// End every other session on database `name` (`restore --force`; MySQL: `KILL CONNECTION`).
    pub async fn terminate_connections(&mut self, name: &str) -> Result<(), DbError> {
        if self.dialect() == Dialect::Mysql {
            let sql = format!(
                "SELECT CAST(ID AS CHAR) FROM information_schema.PROCESSLIST WHERE DB = {} AND ID <> CONNECTION_ID()",
                Dialect::Mysql.quote_literal(name)
            );
            let ids = self.text_rows(sql, "listing the other connections to the database").await?;
            for id in ids.into_iter().filter_map(|r| r.into_iter().next().flatten()) {
                if id.bytes().all(|b| b.is_ascii_digit()) {
                    // A session that ended meanwhile is fine.
                    let _ = self.execute(&format!("KILL CONNECTION {id}"), "ending a connection").await;
                }
            }
            return Ok(());
        }
        let sql = format!(
            "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
            Dialect::Postgres.quote_literal(name)
        );
        self.text_rows(sql, "ending the other connections to the database").await.map(drop)
    }

    /// Whether database `name` exists on this server (PostgreSQL, MySQL).
    pub async fn database_exists(&mut self, name: &str) -> Result<bool, DbError> {
        let d = self.dialect();
        let sql = match d {
            Dialect::Mysql => format!(
                "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
                d.quote_literal(name)
            ),
            _ => format!("SELECT datname::text FROM pg_database WHERE datname = {}", d.quote_literal(name)),
        };
        Ok(!self.text_rows(sql, "looking up the database").await?.is_empty())
    }

    /// `CREATE DATABASE name` (PostgreSQL).
    pub async fn create_database(&mut self, name: &str) -> Result<(), DbError> {
        let sql = format!("CREATE DATABASE {}", Dialect::Postgres.quote_ident(name));
        self.execute(&sql, "creating the database to restore into").await
    }

    /// `DROP DATABASE IF EXISTS name` (PostgreSQL, MySQL).
    pub async fn drop_database_if_exists(&mut self, name: &str) -> Result<(), DbError> {
        let sql = format!("DROP DATABASE IF EXISTS {}", self.dialect().quote_ident(name));
        self.execute(&sql, "dropping a database").await
    }

    /// `ALTER DATABASE from RENAME TO to` (PostgreSQL).
    pub async fn rename_database(&mut self, from: &str, to: &str) -> Result<(), DbError> {
        let d = Dialect::Postgres;
        let sql = format!("ALTER DATABASE {} RENAME TO {}", d.quote_ident(from), d.quote_ident(to));
        self.execute(&sql, "swapping the restored database in").await
    }

    /// Try to take SQLite's exclusive lock and release it at once: fails while another process
    /// reads or writes the file.
    pub async fn sqlite_try_exclusive(&mut self) -> Result<(), DbError> {
        self.execute("BEGIN EXCLUSIVE", "checking that no one else uses the SQLite database").await?;
        self.execute("ROLLBACK", "checking that no one else uses the SQLite database").await
    }
}

/// What kind of database-level object a [`MysqlObject`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MysqlObjectKind {
    /// A stored function (created before the triggers and events that may call it).
    Function,
    /// A stored procedure.
    Procedure,
    /// A trigger of one of the database's tables.
    Trigger,
    /// A scheduled event.
    Event,
}

impl MysqlObjectKind {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "FUNCTION" => Some(Self::Function),
            "PROCEDURE" => Some(Self::Procedure),
            "TRIGGER" => Some(Self::Trigger),
            "EVENT" => Some(Self::Event),
            _ => None,
        }
    }

    /// The keyword of `SHOW CREATE …` and `DROP …`.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Function => "FUNCTION",
            Self::Procedure => "PROCEDURE",
            Self::Trigger => "TRIGGER",
            Self::Event => "EVENT",
        }
    }
}

/// A MySQL trigger, routine or event: objects that belong to one database and that `RENAME
/// TABLE` cannot carry into another, so a restore recreates them from their definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlObject {
    /// What it is.
    pub kind: MysqlObjectKind,
    /// Its name.
    pub name: String,
    /// The `CREATE …` statement, unqualified (it creates the object in the current database).
    pub create: String,
    /// The `sql_mode` it was defined under (it governs its body).
    pub sql_mode: String,
    /// The time zone an event's schedule is read in.
    pub time_zone: Option<String>,
}
