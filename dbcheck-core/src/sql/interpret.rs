//! The interpreter: each statement's effect on a `Schema`, named and normalized the way the server
//! would (PostgreSQL's generated constraint and index names, SQLite's stored text), with the
//! provenance of every object and an `Unmodelled` entry for whatever it cannot interpret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lexer::{Kind, Token, tokenize};
use super::parser::{Cursor, Fail};
use crate::db::Dialect;
use crate::replay::split_statements;
use crate::schema::{
    CheckConstraint, Column, EnumType, FkAction, ForeignKey, Function, Generated, Identity, Index, PrimaryKey, Schema,
    Sequence, Table, Trigger, UniqueConstraint, View, definition_hash, normalize_default, normalize_expression,
    normalize_type, qualified_name,
};

/// Where an object was created or last changed: a migration file and the statement's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The migration file.
    pub path: PathBuf,
    /// 1-based line of the statement's first token.
    pub line: usize,
    /// Byte range of the statement in the file.
    pub span: std::ops::Range<usize>,
}

/// A statement that may change the schema but was not interpreted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmodelled {
    /// The migration file.
    pub path: PathBuf,
    /// 1-based line of the statement.
    pub line: usize,
    /// Byte range of the statement in the file.
    pub span: std::ops::Range<usize>,
    /// The statement's first words, for messages.
    pub statement: String,
    /// Why it was not interpreted.
    pub reason: String,
}

/// One statement of a migration: its byte range, first line and tokens. This is the
/// statement-level API other modules can build on (pre-flight checks, lint).
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    /// The statement text (trimmed, without the terminating `;`).
    pub text: &'a str,
    /// Byte range in the file.
    pub span: std::ops::Range<usize>,
    /// 1-based line of its first byte.
    pub line: usize,
    /// Its tokens (comments dropped), spans relative to `text`.
    pub tokens: Vec<Token>,
}

/// Split `sql` into statements with lines and tokens. psql meta-commands (lines starting with a
/// backslash) are returned as their own one-line statements.
pub fn statements(sql: &str, dialect: Dialect) -> Vec<Statement<'_>> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut counted = 0usize;
    let line_of = |pos: usize, line: &mut usize, counted: &mut usize| {
        *line += sql.as_bytes()[*counted..pos].iter().filter(|&&b| b == b'\n').count();
        *counted = pos;
        *line
    };
    for range in split_statements(sql, dialect) {
        let mut start = range.start;
        // psql meta-commands end at the end of their line, not at a semicolon.
        while sql[start..range.end].starts_with('\\') {
            let eol = sql[start..range.end].find('\n').map_or(range.end, |n| start + n);
            let l = line_of(start, &mut line, &mut counted);
            out.push(Statement { text: &sql[start..eol], span: start..eol, line: l, tokens: Vec::new() });
            start = eol;
            while start < range.end && sql.as_bytes()[start].is_ascii_whitespace() {
                start += 1;
            }
        }
        if start >= range.end {
            continue;
        }
        let text = &sql[start..range.end];
        let tokens = tokenize(text);
        if tokens.is_empty() {
            continue;
        }
        let first = start + tokens[0].start;
        let l = line_of(first, &mut line, &mut counted);
        out.push(Statement { text, span: start..range.end, line: l, tokens });
    }
    out
}

/// The static interpreter's state: the schema so far, where each object came from, and what it
/// could not interpret.
#[derive(Debug, Clone)]
pub struct Interpreter {
    dialect: Dialect,
    schema: Schema,
    origins: BTreeMap<String, Origin>,
    unmodelled: Vec<Unmodelled>,
}

/// What static interpretation produced.
#[derive(Debug, Clone, Serialize)]
pub struct StaticSchema {
    /// The schema the migrations create.
    pub schema: Schema,
    /// Provenance by object key (see [`object_key`]).
    pub origins: BTreeMap<String, Origin>,
    /// Statements that may change the schema but were not interpreted, in order.
    pub unmodelled: Vec<Unmodelled>,
}

impl StaticSchema {
    /// Where the object with `key` (see [`object_key`]) was created or last changed.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }
}

/// The provenance key of an object: `kind:name`, e.g. `table:ads`, `column:ads.slug`,
/// `constraint:ads.ads_slug_key`, `index:ads.ads_user_id_idx`, `enum:mood`, `sequence:s`,
/// `view:v`, `function:f(x integer)`, `trigger:ads.t`.
pub fn object_key(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

/// What a statement did.
enum Outcome {
    /// Changed the schema; remember these objects' origin.
    Changed(Vec<String>),
    /// No schema effect.
    Skipped,
}

impl Interpreter {
    /// A fresh interpreter for `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Interpreter { dialect, schema: Schema::empty(dialect), origins: BTreeMap::new(), unmodelled: Vec::new() }
    }

    /// Apply every statement of one migration file.
    pub fn apply_file(&mut self, path: &Path, sql: &str) {
        for st in statements(sql, self.dialect) {
            self.apply_statement(path, &st);
        }
    }

    /// Apply one statement; an uninterpretable one becomes an `Unmodelled` entry and changes
    /// nothing.
    pub fn apply_statement(&mut self, path: &Path, st: &Statement<'_>) {
        let result = if st.text.starts_with('\\') {
            meta_command(st.text)
        } else {
            let mut c = Cursor::new(st.text, &st.tokens, self.dialect);
            self.dispatch(&mut c, st.text)
        };
        match result {
            Ok(Outcome::Skipped) => {}
            Ok(Outcome::Changed(keys)) => {
                for key in keys {
                    self.origins.insert(key, Origin { path: path.to_path_buf(), line: st.line, span: st.span.clone() });
                }
            }
            Err(reason) => {
                let statement = st.text.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
                let statement: String = statement.chars().take(100).collect();
                self.unmodelled.push(Unmodelled {
                    path: path.to_path_buf(),
                    line: st.line,
                    span: st.span.clone(),
                    statement,
                    reason,
                });
            }
        }
    }

    /// The schema as it stands after the statements applied so far.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The result so far.
    pub fn finish(self) -> StaticSchema {
        StaticSchema { schema: self.schema, origins: self.origins, unmodelled: self.unmodelled }
    }

    fn pg(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    fn dispatch(&mut self, c: &mut Cursor<'_>, text: &str) -> Result<Outcome, Fail> {
        let Some(first) = c.peek() else { return Ok(Outcome::Skipped) };
        if first.kind != Kind::Word {
            return if first.is_punct("(") {
                Ok(Outcome::Skipped)
            } else {
                Err(format!("unrecognized statement starting {}", c.found()))
            };
        }
        let kw = first.text.to_ascii_uppercase();
        match kw.as_str() {
            "INSERT" | "UPDATE" | "DELETE" | "SELECT" | "WITH" | "VALUES" | "SET" | "RESET" | "COMMENT" | "GRANT"
            | "REVOKE" | "ANALYZE" | "ANALYSE" | "VACUUM" | "PRAGMA" | "TRUNCATE" | "COPY" | "LOCK" | "NOTIFY"
            | "LISTEN" | "UNLISTEN" | "REFRESH" | "CLUSTER" | "REINDEX" | "BEGIN" | "START" | "COMMIT" | "END"
            | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "ABORT" | "CHECKPOINT" | "DISCARD" | "EXPLAIN" | "SHOW"
            | "DECLARE" | "FETCH" | "CLOSE" | "MOVE" | "PREPARE" | "DEALLOCATE" | "REPLACE" | "UPSERT" | "MERGE"
            | "SECURITY" | "LOAD" => Ok(Outcome::Skipped),
            "CREATE" => self.create(c, text),
            "DROP" => self.drop(c),
            "ALTER" => self.alter(c),
            "DO" => Err("a DO block runs procedural code the interpreter does not execute".to_owned()),
            "CALL" | "EXECUTE" => Err("calls code that may change the schema".to_owned()),
            "ATTACH" | "DETACH" => Err("attaches or detaches a database".to_owned()),
            _ => Err(format!("unsupported statement `{}`", first.text)),
        }
    }

    // ----- names -------------------------------------------------------------------------------

    /// The key of an existing table named `(ns, name)` (SQLite names are case-insensitive).
    fn table_key(&self, ns: &Option<String>, name: &str) -> Option<String> {
        let key = qualified_name(ns.as_deref(), name);
        if self.schema.tables.contains_key(&key) {
            return Some(key);
        }
        if self.dialect != Dialect::Postgres {
            return self.schema.tables.keys().find(|k| k.eq_ignore_ascii_case(&key)).cloned();
        }
        None
    }

    fn same_name(&self, a: &str, b: &str) -> bool {
        if self.pg() { a == b } else { a.eq_ignore_ascii_case(b) }
    }

    fn column_index(&self, table: &Table, name: &str) -> Option<usize> {
        table.columns.iter().position(|c| self.same_name(&c.name, name))
    }

    /// Every constraint and index name in `ns` (PostgreSQL picks generated names that collide
    /// with none of them).
    fn used_names(&self, ns: &Option<String>, extra: Option<&Table>) -> Vec<String> {
        let mut out = Vec::new();
        let tables = self.schema.tables.values().filter(|t| &t.schema == ns).chain(extra);
        for t in tables {
            out.push(t.name.clone());
            out.extend(t.primary_key.as_ref().and_then(|p| p.name.clone()));
            out.extend(t.uniques.keys().cloned());
            out.extend(t.checks.keys().cloned());
            out.extend(t.foreign_keys.keys().cloned());
            out.extend(t.indexes.keys().cloned());
        }
        out
    }

    /// PostgreSQL's `ChooseConstraintName`/`ChooseRelationName`: `table_cols_label`, truncated
    /// to 63 bytes, with a number appended until unused.
    fn choose_name(&self, table: &Table, cols: &str, label: &str) -> String {
        let used = self.used_names(&table.schema, Some(table));
        let mut pass = 0;
        loop {
            let label = if pass == 0 { label.to_owned() } else { format!("{label}{pass}") };
            let name = make_object_name(&table.name, cols, &label);
            if !used.contains(&name) {
                return name;
            }
            pass += 1;
        }
    }

    // ----- CREATE ------------------------------------------------------------------------------

    fn create(&mut self, c: &mut Cursor<'_>, text: &str) -> Result<Outcome, Fail> {
        c.expect("CREATE")?;
        let or_replace = c.eat_seq(&["OR", "REPLACE"]);
        let _ = c.eat("TEMP") || c.eat("TEMPORARY") || c.eat("UNLOGGED") || c.eat("GLOBAL") || c.eat("LOCAL");
        let _ = c.eat("TEMP") || c.eat("TEMPORARY");
        if c.at("TABLE") {
            return self.create_table(c);
        }
        if c.at("UNIQUE") || c.at("INDEX") {
            return self.create_index(c);
        }
        if c.eat("TYPE") {
            return self.create_type(c);
        }
        if c.eat("SEQUENCE") {
            return self.create_sequence(c);
        }
        let _ = c.eat("RECURSIVE");
        if c.at("VIEW") || c.at_seq(&["MATERIALIZED", "VIEW"]) {
            return self.create_view(c, text, or_replace);
        }
        if c.at("FUNCTION") || c.at("PROCEDURE") {
            return self.create_function(c, or_replace);
        }
        let _ = c.eat("CONSTRAINT");
        if c.eat("TRIGGER") {
            return self.create_trigger(c, text);
        }
        if c.at("SCHEMA")
            || c.at("EXTENSION")
            || c.at("ROLE")
            || c.at("USER")
            || c.at("DATABASE")
            || c.at("POLICY")
            || c.at("PUBLICATION")
            || c.at("SUBSCRIPTION")
            || c.at("COLLATION")
            || c.at("TABLESPACE")
        {
            // Objects outside the model (extension objects are excluded from introspection too).
            return Ok(Outcome::Skipped);
        }
        Err(format!("unsupported CREATE {}", c.found()))
    }

    fn create_table(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        c.expect("TABLE")?;
        let if_not_exists = c.eat_seq(&["IF", "NOT", "EXISTS"]);
        let (ns, name) = c.qname()?;
        if let Some(key) = self.table_key(&ns, &name) {
            if if_not_exists {
                return Ok(Outcome::Skipped);
            }
            return Err(format!("table {key} already exists"));
        }
        if c.at("AS") || c.at("OF") || c.at("PARTITION") {
            return Err("CREATE TABLE … AS / OF / PARTITION OF is not interpreted".to_owned());
        }
        let body = c.group()?;
        // Trailing options that change nothing the model holds.
        while !c.done() {
            if c.eat("INHERITS") || c.at("PARTITION") {
                return Err("inheritance and partitioning are not interpreted".to_owned());
            }
            if c.at("AS") {
                return Err("CREATE TABLE … AS is not interpreted".to_owned());
            }
            c.skip_item();
        }
        let mut table = Table::new(ns, name);
        let mut pending_fks = Vec::new();
        for item in c.split_commas(body) {
            let mut ic = c.sub(&c.toks[item]);
            if ic.done() {
                return Err("empty element in the column list".to_owned());
            }
            if is_table_constraint_start(&ic) {
                self.table_constraint(&mut ic, &mut table, true, &mut pending_fks)?;
            } else {
                let col = self.column_def(&mut ic, &mut table, &mut pending_fks)?;
                table.columns.push(col);
            }
        }
        self.finish_fks(&mut table, pending_fks)?;
        let key = table.key();
        let mut changed = vec![object_key("table", &key)];
        changed.extend(table_object_keys(&table));
        self.schema.tables.insert(key, table);
        Ok(Outcome::Changed(changed))
    }

    /// Resolve omitted referenced columns (the referenced table's primary key on PostgreSQL)
    /// and insert the foreign keys.
    fn finish_fks(&self, table: &mut Table, fks: Vec<PendingFk>) -> Result<(), Fail> {
        for fk in fks {
            let mut fk = fk;
            let target_is_self =
                fk.fk.references == table.key() || (!self.pg() && fk.fk.references.eq_ignore_ascii_case(&table.name));
            if self.pg() {
                let target = if target_is_self { Some(&*table) } else { self.schema.tables.get(&fk.fk.references) };
                let Some(target) = target else {
                    return Err(format!("foreign key references unknown table {}", fk.fk.references));
                };
                if fk.fk.referenced_columns.is_empty() {
                    let pk = target.primary_key.as_ref().ok_or_else(|| {
                        format!("foreign key references {} which has no primary key", fk.fk.references)
                    })?;
                    fk.fk.referenced_columns = pk.columns.clone();
                }
            }
            let name = match fk.name {
                Some(n) => n,
                None if self.pg() => self.choose_name(table, &fk.fk.columns.join("_"), "fkey"),
                None => format!("fk({})", fk.fk.columns.join(",")),
            };
            table.foreign_keys.insert(name, fk.fk);
        }
        Ok(())
    }

    fn column_def(&self, c: &mut Cursor<'_>, table: &mut Table, fks: &mut Vec<PendingFk>) -> Result<Column, Fail> {
        let name = c.ident()?;
        if self.column_index(table, &name).is_some() {
            return Err(format!("column {name} specified more than once"));
        }
        let ty = c.until(|c| is_column_constraint_start(c));
        let raw_type = c.text_of(ty.clone()).to_owned();
        if self.pg() && raw_type.is_empty() {
            return Err(format!("column {name} has no type"));
        }
        let lower = raw_type.to_ascii_lowercase();
        let mut col = Column::new(name.clone(), normalize_type(self.dialect, &raw_type));
        if self.pg()
            && matches!(lower.as_str(), "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2")
        {
            col.auto_increment = true;
            col.nullable = false;
        }
        let mut constraint_name: Option<String> = None;
        while !c.done() {
            if c.eat("CONSTRAINT") {
                constraint_name = Some(c.ident()?);
                continue;
            }
            let cname = constraint_name.take();
            if c.eat_seq(&["NOT", "NULL"]) {
                col.nullable = false;
            } else if c.eat("NULL") {
                col.nullable = true;
            } else if c.eat("DEFAULT") {
                let r = c.until(|c| is_column_constraint_start(c) && !c.at("AS"));
                let mut expr = c.text_of(r);
                if !self.pg() {
                    expr = strip_outer_parens(expr);
                }
                col.default = self.default_text(expr);
            } else if c.eat("PRIMARY") {
                c.expect("KEY")?;
                let _ = c.eat("ASC") || c.eat("DESC");
                self.skip_conflict_clause(c);
                if c.eat("AUTOINCREMENT") {
                    col.auto_increment = true;
                }
                if table.primary_key.is_some() {
                    return Err("multiple primary keys".to_owned());
                }
                if self.pg() {
                    col.nullable = false;
                }
                // SQLite records no primary key name.
                let pk_name = match cname {
                    Some(n) if self.pg() => Some(n),
                    None if self.pg() => Some(self.choose_name(table, "", "pkey")),
                    _ => None,
                };
                table.primary_key = Some(PrimaryKey { name: pk_name, columns: vec![name.clone()] });
            } else if c.eat("UNIQUE") {
                self.skip_conflict_clause(c);
                let (deferrable, initially_deferred) = deferrability(c);
                let key = match cname {
                    Some(n) => n,
                    None if self.pg() => self.choose_name(table, &name, "key"),
                    None => format!("unique({name})"),
                };
                table
                    .uniques
                    .insert(key, UniqueConstraint { columns: vec![name.clone()], deferrable, initially_deferred });
            } else if c.eat("CHECK") {
                let inner = c.group()?;
                let expr = normalize_expression(c.text_of(inner.clone()));
                let _ = c.eat_seq(&["NO", "INHERIT"]);
                let key = match cname {
                    Some(n) => n,
                    None if self.pg() => {
                        let refs = referenced_columns(c, inner, table, Some(&name), |a, b| self.same_name(a, b));
                        let cols = if refs.len() == 1 { refs[0].clone() } else { String::new() };
                        self.choose_name(table, &cols, "check")
                    }
                    None => format!("check({expr})"),
                };
                let expression = if self.pg() { format!("({expr})") } else { expr };
                table.checks.insert(key, CheckConstraint { expression, valid: true });
            } else if c.eat("REFERENCES") {
                let fk = self.references(c, vec![name.clone()])?;
                fks.push(PendingFk { name: cname, fk });
            } else if c.eat("GENERATED") {
                if c.eat("ALWAYS") {
                    c.expect("AS")?;
                    if c.eat("IDENTITY") {
                        col.identity = Some(Identity::Always);
                        col.nullable = false;
                        if c.peek().is_some_and(|t| t.is_punct("(")) {
                            c.group()?;
                        }
                    } else {
                        let inner = c.group()?;
                        let stored = c.eat("STORED");
                        let _ = c.eat("VIRTUAL");
                        col.generated = Some(Generated { expression: normalize_expression(c.text_of(inner)), stored });
                    }
                } else {
                    c.expect("BY")?;
                    c.expect("DEFAULT")?;
                    c.expect("AS")?;
                    c.expect("IDENTITY")?;
                    col.identity = Some(Identity::ByDefault);
                    col.nullable = false;
                    if c.peek().is_some_and(|t| t.is_punct("(")) {
                        c.group()?;
                    }
                }
            } else if !self.pg() && c.eat("AS") {
                let inner = c.group()?;
                let stored = c.eat("STORED");
                let _ = c.eat("VIRTUAL");
                col.generated = Some(Generated { expression: normalize_expression(c.text_of(inner)), stored });
            } else if c.eat("COLLATE") {
                c.ident()?;
            } else if c.eat("AUTOINCREMENT") {
                col.auto_increment = true;
            } else if c.eat("DEFERRABLE") || c.eat_seq(&["NOT", "DEFERRABLE"]) || c.eat("INITIALLY") {
                let _ = c.eat("DEFERRED") || c.eat("IMMEDIATE");
            } else {
                return Err(format!("unsupported column definition for {name} {}", c.found()));
            }
        }
        Ok(col)
    }

    /// SQLite's `ON CONFLICT …` after a constraint.
    fn skip_conflict_clause(&self, c: &mut Cursor<'_>) {
        if c.eat_seq(&["ON", "CONFLICT"]) {
            c.i += 1;
        }
    }

    fn default_text(&self, expr: &str) -> Option<String> {
        let t = normalize_expression(expr);
        if self.pg() && t.eq_ignore_ascii_case("null") {
            return None;
        }
        normalize_default(self.dialect, Some(&t))
    }

    /// `REFERENCES t [(cols)] [MATCH …] [ON DELETE a] [ON UPDATE a] [DEFERRABLE …]`.
    fn references(&self, c: &mut Cursor<'_>, columns: Vec<String>) -> Result<ForeignKey, Fail> {
        let (ns, name) = c.qname()?;
        let references = if self.pg() { qualified_name(ns.as_deref(), &name) } else { name.clone() };
        let referenced_columns = if c.peek().is_some_and(|t| t.is_punct("(")) { c.name_list()? } else { Vec::new() };
        if !referenced_columns.is_empty() && referenced_columns.len() != columns.len() {
            return Err("foreign key column counts differ".to_owned());
        }
        let mut fk = ForeignKey {
            columns,
            references,
            referenced_columns,
            on_update: FkAction::NoAction,
            on_delete: FkAction::NoAction,
            deferrable: false,
            initially_deferred: false,
            valid: true,
        };
        loop {
            if c.eat("MATCH") {
                c.i += 1;
            } else if c.eat_seq(&["ON", "DELETE"]) {
                fk.on_delete = fk_action(c)?;
            } else if c.eat_seq(&["ON", "UPDATE"]) {
                fk.on_update = fk_action(c)?;
            } else if c.at("DEFERRABLE") || c.at_seq(&["NOT", "DEFERRABLE"]) || c.at("INITIALLY") {
                let (d, i) = deferrability(c);
                fk.deferrable |= d;
                fk.initially_deferred |= i;
            } else {
                break;
            }
        }
        Ok(fk)
    }

    /// A table constraint: `[CONSTRAINT n] PRIMARY KEY | UNIQUE | CHECK | FOREIGN KEY …`.
    /// Returns the constraint's key (`None` for the primary key) and whether it is `NOT VALID`.
    fn table_constraint(
        &self,
        c: &mut Cursor<'_>,
        table: &mut Table,
        creating: bool,
        fks: &mut Vec<PendingFk>,
    ) -> Result<(String, bool), Fail> {
        let cname = if c.eat("CONSTRAINT") { Some(c.ident()?) } else { None };
        let mut not_valid = false;
        let key;
        if c.eat("PRIMARY") {
            c.expect("KEY")?;
            let cols = c.name_list()?;
            for col in &cols {
                let Some(i) = self.column_index(table, col) else {
                    return Err(format!("primary key column {col} does not exist"));
                };
                if self.pg() {
                    table.columns[i].nullable = false;
                }
            }
            self.skip_conflict_clause(c);
            if table.primary_key.is_some() {
                return Err(format!("table {} already has a primary key", table.name));
            }
            let name = match cname {
                Some(n) if self.pg() => Some(n),
                None if self.pg() => Some(self.choose_name(table, "", "pkey")),
                _ => None,
            };
            key = name.clone().unwrap_or_else(|| "primary key".to_owned());
            table.primary_key = Some(PrimaryKey { name, columns: cols });
        } else if c.eat("UNIQUE") {
            if c.at_seq(&["USING", "INDEX"]) {
                return Err("UNIQUE USING INDEX is not interpreted".to_owned());
            }
            let _ = c.eat_seq(&["NULLS", "NOT", "DISTINCT"]) || c.eat_seq(&["NULLS", "DISTINCT"]);
            let cols = c.name_list()?;
            self.check_columns(table, &cols)?;
            if c.at("INCLUDE") || c.at("WITH") || c.at("USING") {
                return Err("unique constraint options are not interpreted".to_owned());
            }
            self.skip_conflict_clause(c);
            let (deferrable, initially_deferred) = deferrability(c);
            key = match cname {
                Some(n) => n,
                None if self.pg() => self.choose_name(table, &cols.join("_"), "key"),
                None => format!("unique({})", cols.join(",")),
            };
            table.uniques.insert(key.clone(), UniqueConstraint { columns: cols, deferrable, initially_deferred });
        } else if c.eat("CHECK") {
            let inner = c.group()?;
            let expr = normalize_expression(c.text_of(inner.clone()));
            let _ = c.eat_seq(&["NO", "INHERIT"]);
            if c.eat_seq(&["NOT", "VALID"]) {
                not_valid = !creating;
            }
            key = match cname {
                Some(n) => n,
                None if self.pg() => {
                    let refs = referenced_columns(c, inner, table, None, |a, b| self.same_name(a, b));
                    let cols = if refs.len() == 1 { refs[0].clone() } else { String::new() };
                    self.choose_name(table, &cols, "check")
                }
                None => format!("check({expr})"),
            };
            // PostgreSQL's `pg_get_constraintdef` keeps the parentheses; SQLite's text is the inside.
            let expression = if self.pg() { format!("({expr})") } else { expr };
            table.checks.insert(key.clone(), CheckConstraint { expression, valid: !not_valid });
        } else if c.eat("FOREIGN") {
            c.expect("KEY")?;
            let cols = c.name_list()?;
            self.check_columns(table, &cols)?;
            c.expect("REFERENCES")?;
            let mut fk = self.references(c, cols.clone())?;
            if c.eat_seq(&["NOT", "VALID"]) {
                not_valid = !creating;
                fk.valid = creating;
            }
            key = match &cname {
                Some(n) => n.clone(),
                None if self.pg() => self.choose_name(table, &cols.join("_"), "fkey"),
                None => format!("fk({})", cols.join(",")),
            };
            fks.push(PendingFk { name: Some(key.clone()), fk });
        } else if c.at("EXCLUDE") {
            return Err("exclusion constraints are not modelled".to_owned());
        } else {
            return Err(format!("unsupported table constraint {}", c.found()));
        }
        if !c.done() && !c.at("NOT") {
            return Err(format!("unexpected text in constraint {}", c.found()));
        }
        if c.eat_seq(&["NOT", "VALID"]) {
            not_valid = !creating;
        }
        Ok((key, not_valid))
    }

    fn check_columns(&self, table: &Table, cols: &[String]) -> Result<(), Fail> {
        for col in cols {
            if self.column_index(table, col).is_none() {
                return Err(format!("column {col} of {} does not exist", table.name));
            }
        }
        Ok(())
    }

    fn create_index(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        let unique = c.eat("UNIQUE");
        c.expect("INDEX")?;
        let _ = c.eat("CONCURRENTLY");
        let if_not_exists = c.eat_seq(&["IF", "NOT", "EXISTS"]);
        let name = if c.at("ON") { None } else { Some(c.qname()?) };
        c.expect("ON")?;
        let _ = c.eat("ONLY");
        let (tns, tname) = c.qname()?;
        let key = self.table_key(&tns, &tname).ok_or_else(|| format!("index on unknown table {tname}"))?;
        let method = if c.eat("USING") { Some(c.ident()?.to_lowercase()) } else { None };
        let inner = c.group()?;
        let mut columns = Vec::new();
        let mut plain_names = Vec::new();
        let table = &self.schema.tables[&key];
        for item in c.split_commas(inner) {
            let (text, plain) = self.index_key(c, item, table)?;
            plain_names.push(plain.unwrap_or_else(|| "expr".to_owned()));
            columns.push(text);
        }
        let include =
            if c.eat("INCLUDE") { c.name_list()?.into_iter().map(|n| quote_ident(&n)).collect() } else { Vec::new() };
        if c.eat("NULLS") {
            let _ = c.eat("NOT");
            c.expect("DISTINCT")?;
        }
        if c.at("WITH") || c.at("TABLESPACE") {
            return Err("index storage options are not interpreted".to_owned());
        }
        let predicate = if c.eat("WHERE") {
            let r = c.until(|_| false);
            Some(normalize_expression(c.text_of(r)))
        } else {
            None
        };
        if !c.done() {
            return Err(format!("unexpected text in CREATE INDEX {}", c.found()));
        }
        let table = &self.schema.tables[&key];
        let name = match name {
            Some((_, n)) => n,
            None if self.pg() => self.choose_name(table, &plain_names.join("_"), "idx"),
            None => return Err("an index needs a name".to_owned()),
        };
        let exists = self.schema.tables.values().any(|t| {
            t.schema == table.schema
                && (t.indexes.keys().any(|k| self.same_name(k, &name))
                    || (self.pg() && (t.uniques.contains_key(&name) || t.name == name)))
        });
        if exists {
            if if_not_exists {
                return Ok(Outcome::Skipped);
            }
            return Err(format!("relation {name} already exists"));
        }
        let method = method.filter(|m| m != "btree" || !self.pg());
        let index = Index { columns, include, unique, method, predicate, valid: true };
        let t = self.schema.tables.get_mut(&key).ok_or("table vanished")?;
        t.indexes.insert(name.clone(), index);
        Ok(Outcome::Changed(vec![object_key("index", &format!("{key}.{name}"))]))
    }

    /// One index key as introspection prints it, and the column name when it is a plain column.
    fn index_key(
        &self,
        c: &Cursor<'_>,
        item: std::ops::Range<usize>,
        table: &Table,
    ) -> Result<(String, Option<String>), Fail> {
        let toks = &c.toks[item.clone()];
        // Trailing ASC/DESC/NULLS FIRST|LAST/COLLATE/opclass.
        let mut end = toks.len();
        let mut desc = false;
        let mut nulls: Option<bool> = None;
        loop {
            if end >= 2 && toks[end - 2].is("NULLS") && (toks[end - 1].is("FIRST") || toks[end - 1].is("LAST")) {
                nulls = Some(toks[end - 1].is("FIRST"));
                end -= 2;
            } else if end >= 1 && (toks[end - 1].is("ASC") || toks[end - 1].is("DESC")) {
                desc = toks[end - 1].is("DESC");
                end -= 1;
            } else {
                break;
            }
        }
        if end == 0 {
            return Err("empty index key".to_owned());
        }
        let body = c.text_of(item.start..item.start + end);
        let mut sub = c.sub(&toks[..end]);
        let plain = if end == 1 && matches!(toks[0].kind, Kind::Word | Kind::Quoted) {
            let n = sub.ident()?;
            let i = self.column_index(table, &n).ok_or_else(|| format!("index column {n} does not exist"))?;
            Some(table.columns[i].name.clone())
        } else {
            None
        };
        if end > 1 && !toks[0].is_punct("(") && toks.get(1).is_some_and(|t| !t.is_punct("(")) {
            return Err("index operator classes and collations are not interpreted".to_owned());
        }
        let mut text = match (&plain, self.pg()) {
            (Some(n), true) => quote_ident(n),
            (Some(n), false) => n.clone(),
            (None, true) => normalize_expression(strip_outer_parens(body)),
            (None, false) => normalize_expression(body),
        };
        if desc {
            text.push_str(" DESC");
        }
        if self.pg() {
            match nulls {
                Some(true) if !desc => text.push_str(" NULLS FIRST"),
                Some(false) if desc => text.push_str(" NULLS LAST"),
                _ => {}
            }
        }
        Ok((text, plain))
    }

    fn create_type(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        let (ns, name) = c.qname()?;
        if !c.eat("AS") {
            return Err("only enum types are modelled".to_owned());
        }
        if !c.eat("ENUM") {
            // Composite and range types are outside the model; they change no table by themselves.
            return Ok(Outcome::Skipped);
        }
        let inner = c.group()?;
        let mut labels = Vec::new();
        for item in c.split_commas(inner) {
            if item.is_empty() {
                continue;
            }
            let mut s = c.sub(&c.toks[item]);
            labels.push(s.string()?);
        }
        let key = qualified_name(ns.as_deref(), &name);
        if self.schema.enums.contains_key(&key) {
            return Err(format!("type {key} already exists"));
        }
        self.schema.enums.insert(key.clone(), EnumType { schema: ns, name, labels });
        Ok(Outcome::Changed(vec![object_key("enum", &key)]))
    }

    fn create_sequence(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        let if_not_exists = c.eat_seq(&["IF", "NOT", "EXISTS"]);
        let (ns, name) = c.qname()?;
        let key = qualified_name(ns.as_deref(), &name);
        if self.schema.sequences.contains_key(&key) {
            return if if_not_exists { Ok(Outcome::Skipped) } else { Err(format!("sequence {key} already exists")) };
        }
        let mut seq = SeqOptions::default();
        seq.parse(c)?;
        let s = seq.build(None, ns, name)?;
        self.schema.sequences.insert(key.clone(), s);
        Ok(Outcome::Changed(vec![object_key("sequence", &key)]))
    }

    fn create_view(&mut self, c: &mut Cursor<'_>, text: &str, or_replace: bool) -> Result<Outcome, Fail> {
        let materialized = c.eat("MATERIALIZED");
        c.expect("VIEW")?;
        let if_not_exists = c.eat_seq(&["IF", "NOT", "EXISTS"]);
        let name_tok = c.peek().map_or(0, |t| t.start);
        let (ns, name) = c.qname()?;
        let key = qualified_name(ns.as_deref(), &name);
        let exists = self.schema.views.keys().any(|k| self.same_name(k, &key));
        if exists && if_not_exists {
            return Ok(Outcome::Skipped);
        }
        if exists && !or_replace {
            return Err(format!("view {key} already exists"));
        }
        if c.peek().is_some_and(|t| t.is_punct("(")) {
            c.group()?;
        }
        if c.eat("WITH") {
            c.group()?;
        }
        c.expect("AS")?;
        let body = c.until(|_| false);
        let definition = if self.pg() {
            normalize_expression(c.text_of(body))
        } else {
            normalize_expression(&format!("CREATE VIEW {}", text.get(name_tok..).unwrap_or("")))
        };
        self.schema.views.insert(
            key.clone(),
            View { schema: ns, name, materialized, definition_hash: definition_hash(&definition), definition },
        );
        Ok(Outcome::Changed(vec![object_key("view", &key)]))
    }

    fn create_function(&mut self, c: &mut Cursor<'_>, or_replace: bool) -> Result<Outcome, Fail> {
        if !self.pg() {
            return Err("routines are only interpreted for PostgreSQL".to_owned());
        }
        let kind = if c.eat("PROCEDURE") { "procedure" } else { "function" };
        let _ = c.eat("FUNCTION");
        let (ns, name) = c.qname()?;
        let args = c.group()?;
        let arguments = identity_arguments(c, args)?;
        let key = format!("{}({arguments})", qualified_name(ns.as_deref(), &name));
        if self.schema.functions.contains_key(&key) && !or_replace {
            return Err(format!("function {key} already exists"));
        }
        let rest = c.until(|_| false);
        let definition = normalize_expression(c.text_of(rest));
        self.schema.functions.insert(
            key.clone(),
            Function {
                schema: ns,
                name,
                arguments,
                kind: kind.to_owned(),
                definition_hash: definition_hash(&definition),
                definition,
            },
        );
        Ok(Outcome::Changed(vec![object_key("function", &key)]))
    }

    fn create_trigger(&mut self, c: &mut Cursor<'_>, text: &str) -> Result<Outcome, Fail> {
        let if_not_exists = c.eat_seq(&["IF", "NOT", "EXISTS"]);
        let name_start = c.peek().map_or(0, |t| t.start);
        let (_, name) = c.qname()?;
        // The table follows the first top-level ON.
        c.until(|c| c.at("ON"));
        c.expect("ON")?;
        let (tns, tname) = c.qname()?;
        let table = self.table_key(&tns, &tname).ok_or_else(|| format!("trigger on unknown table {tname}"))?;
        let key = format!("{table}.{name}");
        if self.schema.triggers.contains_key(&key) {
            return if if_not_exists { Ok(Outcome::Skipped) } else { Err(format!("trigger {key} already exists")) };
        }
        let definition = if self.pg() {
            normalize_expression(text)
        } else {
            format!("CREATE TRIGGER {}", text.get(name_start..).unwrap_or("")).trim().to_owned()
        };
        self.schema
            .triggers
            .insert(key.clone(), Trigger { table, name, definition_hash: definition_hash(&definition), definition });
        Ok(Outcome::Changed(vec![object_key("trigger", &key)]))
    }

    // ----- DROP --------------------------------------------------------------------------------

    fn drop(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        c.expect("DROP")?;
        let materialized = c.eat("MATERIALIZED");
        let what = c.ident().map(|w| w.to_ascii_uppercase())?;
        if what == "SCHEMA" || what == "EXTENSION" || what == "ROLE" || what == "USER" || what == "POLICY" {
            if what == "SCHEMA" {
                return Err("DROP SCHEMA is not interpreted".to_owned());
            }
            return Ok(Outcome::Skipped);
        }
        let _ = c.eat("CONCURRENTLY");
        let if_exists = c.eat_seq(&["IF", "EXISTS"]);
        let mut names = Vec::new();
        loop {
            let (ns, name) = c.qname()?;
            let args = if c.peek().is_some_and(|t| t.is_punct("(")) {
                let g = c.group()?;
                Some(identity_arguments(c, g)?)
            } else {
                None
            };
            names.push((ns, name, args));
            if !c.eat_punct(",") {
                break;
            }
        }
        let on_table = if c.eat("ON") { Some(c.qname()?) } else { None };
        let cascade = c.eat("CASCADE");
        let _ = c.eat("RESTRICT");
        if !c.done() {
            return Err(format!("unexpected text in DROP {}", c.found()));
        }
        let mut changed = Vec::new();
        for (ns, name, args) in names {
            let found = match (what.as_str(), materialized) {
                ("TABLE", false) => self.drop_table(&ns, &name, cascade, &mut changed),
                ("VIEW", _) => self.schema.views.remove(&qualified_name(ns.as_deref(), &name)).is_some(),
                ("INDEX", false) => self.drop_index(&ns, &name),
                ("TYPE", false) | ("DOMAIN", false) => {
                    let key = qualified_name(ns.as_deref(), &name);
                    if cascade
                        && self.schema.tables.values().any(|t| t.columns.iter().any(|c| type_is(&c.data_type, &key)))
                    {
                        return Err("DROP TYPE … CASCADE drops columns; not interpreted".to_owned());
                    }
                    self.schema.enums.remove(&key).is_some() || what == "DOMAIN"
                }
                ("SEQUENCE", false) => self.schema.sequences.remove(&qualified_name(ns.as_deref(), &name)).is_some(),
                ("FUNCTION" | "PROCEDURE" | "ROUTINE", false) => {
                    let base = qualified_name(ns.as_deref(), &name);
                    let before = self.schema.functions.len();
                    match args {
                        Some(a) => {
                            self.schema.functions.remove(&format!("{base}({a})"));
                        }
                        None => {
                            self.schema.functions.retain(|_, f| qualified_name(f.schema.as_deref(), &f.name) != base)
                        }
                    }
                    before != self.schema.functions.len()
                }
                ("TRIGGER", false) => {
                    let table = match &on_table {
                        Some((tns, t)) => self.table_key(tns, t).unwrap_or_else(|| qualified_name(tns.as_deref(), t)),
                        None => {
                            // SQLite: trigger names are unique per database.
                            self.schema
                                .triggers
                                .values()
                                .find(|t| self.same_name(&t.name, &name))
                                .map(|t| t.table.clone())
                                .unwrap_or_default()
                        }
                    };
                    self.schema.triggers.remove(&format!("{table}.{name}")).is_some()
                }
                _ => return Err(format!("unsupported DROP {what}")),
            };
            if !found && !if_exists {
                return Err(format!("{} {name} does not exist", what.to_lowercase()));
            }
        }
        Ok(if changed.is_empty() { Outcome::Changed(Vec::new()) } else { Outcome::Changed(changed) })
    }

    fn drop_table(&mut self, ns: &Option<String>, name: &str, cascade: bool, _changed: &mut [String]) -> bool {
        let Some(key) = self.table_key(ns, name) else { return false };
        self.schema.tables.remove(&key);
        self.schema.triggers.retain(|_, t| t.table != key);
        if cascade {
            for t in self.schema.tables.values_mut() {
                t.foreign_keys.retain(|_, fk| fk.references != key);
            }
        }
        let prefix_col = format!("column:{key}.");
        self.origins.retain(|k, _| !k.starts_with(&prefix_col));
        true
    }

    fn drop_index(&mut self, ns: &Option<String>, name: &str) -> bool {
        let pg = self.pg();
        for t in self.schema.tables.values_mut() {
            if &t.schema != ns && pg {
                continue;
            }
            let hit = t.indexes.keys().find(|k| if pg { k.as_str() == name } else { k.eq_ignore_ascii_case(name) });
            if let Some(k) = hit.cloned() {
                t.indexes.remove(&k);
                return true;
            }
        }
        false
    }

    // ----- ALTER -------------------------------------------------------------------------------

    fn alter(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        c.expect("ALTER")?;
        if c.eat("TABLE") {
            return self.alter_table(c);
        }
        if c.eat("TYPE") {
            return self.alter_type(c);
        }
        if c.eat("INDEX") {
            return self.alter_index(c);
        }
        if c.eat("SEQUENCE") {
            return self.alter_sequence(c);
        }
        let materialized = c.eat("MATERIALIZED");
        if c.eat("VIEW") {
            return self.alter_view(c, materialized);
        }
        if c.at("SCHEMA")
            || c.at("ROLE")
            || c.at("USER")
            || c.at("DATABASE")
            || c.at("DEFAULT")
            || c.at("SYSTEM")
            || c.at("EXTENSION")
            || c.at("POLICY")
        {
            return Ok(Outcome::Skipped);
        }
        Err(format!("unsupported ALTER {}", c.found()))
    }

    fn alter_table(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        let if_exists = c.eat_seq(&["IF", "EXISTS"]);
        let _ = c.eat("ONLY");
        let (ns, name) = c.qname()?;
        let _ = c.eat_punct("*");
        let Some(key) = self.table_key(&ns, &name) else {
            if if_exists {
                return Ok(Outcome::Skipped);
            }
            return Err(format!("table {name} does not exist"));
        };
        // Whole-table forms.
        if c.at("RENAME") && c.peek_at(1).is_some_and(|t| t.is("TO")) {
            c.i += 2;
            let new = c.ident()?;
            return self.rename_table(&key, new);
        }
        if c.eat_seq(&["SET", "SCHEMA"]) {
            let ns = c.ident()?;
            let ns = if ns == "public" { None } else { Some(ns) };
            let t = &self.schema.tables[&key];
            let new_key = qualified_name(ns.as_deref(), &t.name);
            return self.move_table(&key, new_key, ns);
        }
        let mut table = self.schema.tables[&key].clone();
        let mut changed = Vec::new();
        let mut fks = Vec::new();
        let actions = c.split_commas(c.i..c.toks.len());
        if actions.is_empty() {
            return Err("ALTER TABLE without an action".to_owned());
        }
        let mut renames: Vec<(String, String)> = Vec::new();
        for a in actions {
            let mut ac = c.sub(&c.toks[a]);
            self.alter_action(&mut ac, &mut table, &key, &mut changed, &mut fks, &mut renames)?;
        }
        self.finish_fks(&mut table, fks)?;
        // Foreign keys of other tables follow renamed columns.
        if self.pg() {
            for (old, new) in &renames {
                for (k, t) in self.schema.tables.iter_mut() {
                    if k == &key {
                        continue;
                    }
                    for fk in t.foreign_keys.values_mut() {
                        if fk.references == key {
                            for rc in fk.referenced_columns.iter_mut().filter(|rc| *rc == old) {
                                *rc = new.clone();
                            }
                        }
                    }
                }
            }
        }
        self.schema.tables.insert(key, table);
        Ok(Outcome::Changed(changed))
    }

    fn alter_action(
        &self,
        c: &mut Cursor<'_>,
        table: &mut Table,
        key: &str,
        changed: &mut Vec<String>,
        fks: &mut Vec<PendingFk>,
        renames: &mut Vec<(String, String)>,
    ) -> Result<(), Fail> {
        let col_key = |n: &str| object_key("column", &format!("{key}.{n}"));
        let con_key = |n: &str| object_key("constraint", &format!("{key}.{n}"));
        if c.eat("ADD") {
            if is_table_constraint_start(c) {
                let before = fks.len();
                let (name, _) = self.table_constraint(c, table, false, fks)?;
                let _ = before;
                changed.push(con_key(&name));
                return Ok(());
            }
            let _ = c.eat("COLUMN");
            let if_not_exists = c.eat_seq(&["IF", "NOT", "EXISTS"]);
            let mut probe = c.clone();
            let name = probe.ident()?;
            if self.column_index(table, &name).is_some() && if_not_exists {
                return Ok(());
            }
            let col = self.column_def(c, table, fks)?;
            changed.push(col_key(&col.name));
            table.columns.push(col);
            changed.extend(table_object_keys(table).into_iter().filter(|k| k.starts_with("constraint:")));
            return Ok(());
        }
        if c.eat("DROP") {
            if c.eat("CONSTRAINT") {
                let if_exists = c.eat_seq(&["IF", "EXISTS"]);
                let name = c.ident()?;
                let _ = c.eat("CASCADE") || c.eat("RESTRICT");
                let found = table.uniques.remove(&name).is_some()
                    || table.checks.remove(&name).is_some()
                    || table.foreign_keys.remove(&name).is_some()
                    || (table.primary_key.as_ref().is_some_and(|p| p.name.as_deref() == Some(&name)) && {
                        table.primary_key = None;
                        true
                    });
                if !found && !if_exists {
                    return Err(format!("constraint {name} does not exist"));
                }
                return Ok(());
            }
            let _ = c.eat("COLUMN");
            let if_exists = c.eat_seq(&["IF", "EXISTS"]);
            let name = c.ident()?;
            let cascade = c.eat("CASCADE");
            let _ = c.eat("RESTRICT");
            let Some(i) = self.column_index(table, &name) else {
                return if if_exists { Ok(()) } else { Err(format!("column {name} does not exist")) };
            };
            let name = table.columns.remove(i).name;
            if self.pg() {
                let mentions = |e: &str| mentions_ident(e, &name);
                if table.primary_key.as_ref().is_some_and(|p| p.columns.contains(&name)) {
                    table.primary_key = None;
                }
                table.uniques.retain(|_, u| !u.columns.contains(&name));
                table.checks.retain(|_, ch| !mentions(&ch.expression));
                table.foreign_keys.retain(|_, f| !f.columns.contains(&name));
                table
                    .indexes
                    .retain(|_, ix| !ix.columns.iter().chain(&ix.include).chain(&ix.predicate).any(|e| mentions(e)));
                let _ = cascade;
            }
            return Ok(());
        }
        if c.eat("RENAME") {
            if c.eat("CONSTRAINT") {
                let old = c.ident()?;
                c.expect("TO")?;
                let new = c.ident()?;
                let renamed = rename_key(&mut table.uniques, &old, &new)
                    || rename_key(&mut table.checks, &old, &new)
                    || rename_key(&mut table.foreign_keys, &old, &new)
                    || match table.primary_key.as_mut().filter(|p| p.name.as_deref() == Some(&old)) {
                        Some(p) => {
                            p.name = Some(new.clone());
                            true
                        }
                        None => false,
                    };
                if !renamed {
                    return Err(format!("constraint {old} does not exist"));
                }
                changed.push(con_key(&new));
                return Ok(());
            }
            let _ = c.eat("COLUMN");
            let old = c.ident()?;
            c.expect("TO")?;
            let new = c.ident()?;
            let i = self.column_index(table, &old).ok_or_else(|| format!("column {old} does not exist"))?;
            let old = std::mem::replace(&mut table.columns[i].name, new.clone());
            rename_column_refs(table, &old, &new, self.dialect);
            renames.push((old, new.clone()));
            changed.push(col_key(&new));
            return Ok(());
        }
        if !self.pg() {
            return Err(format!("SQLite cannot ALTER TABLE {}", c.found()));
        }
        if c.eat("VALIDATE") {
            c.expect("CONSTRAINT")?;
            let name = c.ident()?;
            if let Some(ch) = table.checks.get_mut(&name) {
                ch.valid = true;
            } else if let Some(fk) = table.foreign_keys.get_mut(&name) {
                fk.valid = true;
            } else {
                return Err(format!("constraint {name} does not exist"));
            }
            changed.push(con_key(&name));
            return Ok(());
        }
        if c.eat("ALTER") {
            let _ = c.eat("COLUMN");
            let name = c.ident()?;
            let i = self.column_index(table, &name).ok_or_else(|| format!("column {name} does not exist"))?;
            changed.push(col_key(&name));
            let col = &mut table.columns[i];
            if c.eat_seq(&["SET", "NOT", "NULL"]) {
                col.nullable = false;
            } else if c.eat_seq(&["DROP", "NOT", "NULL"]) {
                if table.primary_key.as_ref().is_some_and(|p| p.columns.contains(&name)) || col.identity.is_some() {
                    return Err(format!("column {name} is in a primary key or an identity column"));
                }
                col.nullable = true;
            } else if c.eat_seq(&["SET", "DEFAULT"]) {
                let r = c.until(|_| false);
                if col.identity.is_some() {
                    return Err(format!("column {name} is an identity column"));
                }
                col.default = self.default_text(c.text_of(r));
                if col.auto_increment {
                    return Err("changing the default of a serial column is not interpreted".to_owned());
                }
            } else if c.eat_seq(&["DROP", "DEFAULT"]) {
                if col.auto_increment {
                    return Err("dropping the default of a serial column is not interpreted".to_owned());
                }
                col.default = None;
            } else if c.eat_seq(&["SET", "DATA", "TYPE"]) || c.eat("TYPE") {
                let r = c.until(|c| c.at("USING") || c.at("COLLATE"));
                let raw = c.text_of(r).to_owned();
                if matches!(raw.to_ascii_lowercase().as_str(), "serial" | "bigserial" | "smallserial") {
                    return Err("serial is not a real type in ALTER COLUMN TYPE".to_owned());
                }
                col.data_type = normalize_type(self.dialect, &raw);
                if col.generated.is_some() || col.default.is_some() {
                    // The default is re-cast by the server; its canonical text may change.
                    col.default = col.default.take();
                }
            } else if c.eat("ADD") {
                c.expect("GENERATED")?;
                let kind = if c.eat("ALWAYS") {
                    Identity::Always
                } else {
                    c.expect("BY")?;
                    c.expect("DEFAULT")?;
                    Identity::ByDefault
                };
                c.expect("AS")?;
                c.expect("IDENTITY")?;
                if col.nullable || col.default.is_some() || col.identity.is_some() {
                    return Err(format!("column {name} must be NOT NULL without a default to become an identity"));
                }
                col.identity = Some(kind);
            } else if c.eat_seq(&["DROP", "IDENTITY"]) {
                let _ = c.eat_seq(&["IF", "EXISTS"]);
                col.identity = None;
            } else if c.eat_seq(&["SET", "GENERATED"]) {
                col.identity = Some(if c.eat("ALWAYS") {
                    Identity::Always
                } else {
                    c.expect("BY")?;
                    c.expect("DEFAULT")?;
                    Identity::ByDefault
                });
            } else if c.eat_seq(&["DROP", "EXPRESSION"]) {
                col.generated = None;
            } else if c.eat("SET") && (c.at("STATISTICS") || c.at("STORAGE") || c.at("COMPRESSION")) {
                return Ok(());
            } else {
                return Err(format!("unsupported ALTER COLUMN form {}", c.found()));
            }
            if !c.done() && !c.at("USING") {
                return Err(format!("unexpected text in ALTER COLUMN {}", c.found()));
            }
            return Ok(());
        }
        if c.eat_seq(&["OWNER", "TO"]) || c.at("ENABLE") || c.at("DISABLE") || c.at("FORCE") || c.at("NO") {
            return Ok(());
        }
        if c.eat("SET") && (c.at("(") || c.at("TABLESPACE") || c.at("LOGGED") || c.at("UNLOGGED") || c.at("WITHOUT")) {
            return Ok(());
        }
        Err(format!("unsupported ALTER TABLE form {}", c.found()))
    }

    fn rename_table(&mut self, key: &str, new: String) -> Result<Outcome, Fail> {
        let Some(mut t) = self.schema.tables.remove(key) else { return Err("table vanished".to_owned()) };
        let old_name = t.name.clone();
        t.name = new;
        let new_key = t.key();
        if self.schema.tables.contains_key(&new_key) {
            self.schema.tables.insert(key.to_owned(), t);
            return Err(format!("table {new_key} already exists"));
        }
        self.schema.tables.insert(new_key.clone(), t);
        self.rekey_table(key, &old_name, &new_key);
        Ok(Outcome::Changed(vec![object_key("table", &new_key)]))
    }

    fn move_table(&mut self, key: &str, new_key: String, ns: Option<String>) -> Result<Outcome, Fail> {
        let Some(mut t) = self.schema.tables.remove(key) else { return Err("table vanished".to_owned()) };
        let old_name = t.name.clone();
        t.schema = ns;
        self.schema.tables.insert(new_key.clone(), t);
        self.rekey_table(key, &old_name, &new_key);
        Ok(Outcome::Changed(vec![object_key("table", &new_key)]))
    }

    /// After a rename or move: references, triggers and origins follow the table.
    fn rekey_table(&mut self, old_key: &str, old_name: &str, new_key: &str) {
        let pg = self.pg();
        for t in self.schema.tables.values_mut() {
            for fk in t.foreign_keys.values_mut() {
                let hit = if pg { fk.references == old_key } else { fk.references.eq_ignore_ascii_case(old_name) };
                if hit {
                    fk.references = new_key.to_owned();
                }
            }
        }
        let triggers: Vec<String> =
            self.schema.triggers.iter().filter(|(_, t)| t.table == old_key).map(|(k, _)| k.clone()).collect();
        for k in triggers {
            if let Some(mut t) = self.schema.triggers.remove(&k) {
                t.table = new_key.to_owned();
                self.schema.triggers.insert(format!("{new_key}.{}", t.name), t);
            }
        }
        let moved: Vec<(String, Origin)> = self
            .origins
            .iter()
            .filter(|(k, _)| {
                k.split_once(':').is_some_and(|(_, rest)| rest == old_key || rest.starts_with(&format!("{old_key}.")))
            })
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        for (k, o) in moved {
            self.origins.remove(&k);
            if let Some((kind, rest)) = k.split_once(':') {
                let tail = &rest[old_key.len()..];
                self.origins.insert(format!("{kind}:{new_key}{tail}"), o);
            }
        }
    }

    fn alter_type(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        let (ns, name) = c.qname()?;
        let key = qualified_name(ns.as_deref(), &name);
        if c.eat_seq(&["OWNER", "TO"]) {
            return Ok(Outcome::Skipped);
        }
        let Some(e) = self.schema.enums.get_mut(&key) else {
            return Err(format!("type {key} is not a known enum"));
        };
        if c.eat_seq(&["ADD", "VALUE"]) {
            let if_not_exists = c.eat_seq(&["IF", "NOT", "EXISTS"]);
            let label = c.string()?;
            if e.labels.contains(&label) {
                return if if_not_exists { Ok(Outcome::Skipped) } else { Err(format!("label {label} already exists")) };
            }
            let pos = if c.eat("BEFORE") {
                let other = c.string()?;
                e.labels.iter().position(|l| *l == other).ok_or_else(|| format!("label {other} does not exist"))?
            } else if c.eat("AFTER") {
                let other = c.string()?;
                e.labels.iter().position(|l| *l == other).ok_or_else(|| format!("label {other} does not exist"))? + 1
            } else {
                e.labels.len()
            };
            e.labels.insert(pos, label);
        } else if c.eat_seq(&["RENAME", "VALUE"]) {
            let old = c.string()?;
            c.expect("TO")?;
            let new = c.string()?;
            let l = e.labels.iter_mut().find(|l| **l == old).ok_or_else(|| format!("label {old} does not exist"))?;
            *l = new;
        } else if c.eat_seq(&["RENAME", "TO"]) {
            let new = c.ident()?;
            let mut e = self.schema.enums.remove(&key).ok_or("type vanished")?;
            e.name = new;
            let new_key = qualified_name(e.schema.as_deref(), &e.name);
            for t in self.schema.tables.values_mut() {
                for col in &mut t.columns {
                    if type_is(&col.data_type, &key) {
                        col.data_type = format!("{new_key}{}", &col.data_type[key.len()..]);
                    }
                }
            }
            self.schema.enums.insert(new_key.clone(), e);
            self.origins.remove(&object_key("enum", &key));
            return Ok(Outcome::Changed(vec![object_key("enum", &new_key)]));
        } else {
            return Err(format!("unsupported ALTER TYPE form {}", c.found()));
        }
        if !c.done() {
            return Err(format!("unexpected text in ALTER TYPE {}", c.found()));
        }
        Ok(Outcome::Changed(vec![object_key("enum", &key)]))
    }

    fn alter_index(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        let if_exists = c.eat_seq(&["IF", "EXISTS"]);
        let (ns, name) = c.qname()?;
        if !c.eat_seq(&["RENAME", "TO"]) {
            if c.eat("SET") || c.eat("RESET") || c.at("ALTER") {
                return Ok(Outcome::Skipped);
            }
            return Err(format!("unsupported ALTER INDEX form {}", c.found()));
        }
        let new = c.ident()?;
        for (k, t) in self.schema.tables.iter_mut() {
            if t.schema != ns {
                continue;
            }
            if let Some(ix) = t.indexes.remove(&name) {
                t.indexes.insert(new.clone(), ix);
                return Ok(Outcome::Changed(vec![object_key("index", &format!("{k}.{new}"))]));
            }
            // Renaming the index behind a constraint renames the constraint.
            if rename_key(&mut t.uniques, &name, &new) {
                return Ok(Outcome::Changed(vec![object_key("constraint", &format!("{k}.{new}"))]));
            }
            if let Some(p) = t.primary_key.as_mut().filter(|p| p.name.as_deref() == Some(&name)) {
                p.name = Some(new.clone());
                return Ok(Outcome::Changed(vec![object_key("constraint", &format!("{k}.{new}"))]));
            }
        }
        if if_exists { Ok(Outcome::Skipped) } else { Err(format!("index {name} does not exist")) }
    }

    fn alter_sequence(&mut self, c: &mut Cursor<'_>) -> Result<Outcome, Fail> {
        let if_exists = c.eat_seq(&["IF", "EXISTS"]);
        let (ns, name) = c.qname()?;
        let key = qualified_name(ns.as_deref(), &name);
        let Some(old) = self.schema.sequences.get(&key).cloned() else {
            return if if_exists { Ok(Outcome::Skipped) } else { Err(format!("sequence {key} is not known")) };
        };
        if c.at("OWNER") {
            return Ok(Outcome::Skipped);
        }
        if c.at("RENAME") || c.at("SET") {
            return Err(format!("unsupported ALTER SEQUENCE form {}", c.found()));
        }
        let mut opts = SeqOptions::default();
        opts.parse(c)?;
        let s = opts.build(Some(&old), ns, name)?;
        self.schema.sequences.insert(key.clone(), s);
        Ok(Outcome::Changed(vec![object_key("sequence", &key)]))
    }

    fn alter_view(&mut self, c: &mut Cursor<'_>, _materialized: bool) -> Result<Outcome, Fail> {
        let _ = c.eat_seq(&["IF", "EXISTS"]);
        let (ns, name) = c.qname()?;
        let key = qualified_name(ns.as_deref(), &name);
        if c.eat_seq(&["RENAME", "TO"]) {
            let new = c.ident()?;
            let mut v = self.schema.views.remove(&key).ok_or_else(|| format!("view {key} does not exist"))?;
            v.name = new;
            let new_key = qualified_name(v.schema.as_deref(), &v.name);
            self.schema.views.insert(new_key.clone(), v);
            return Ok(Outcome::Changed(vec![object_key("view", &new_key)]));
        }
        if c.at("OWNER") || c.at("ALTER") {
            return Ok(Outcome::Skipped);
        }
        Err(format!("unsupported ALTER VIEW form {}", c.found()))
    }
}

/// A foreign key before its name and omitted referenced columns are settled.
struct PendingFk {
    name: Option<String>,
    fk: ForeignKey,
}

/// `CREATE SEQUENCE` / `ALTER SEQUENCE` options.
#[derive(Default)]
struct SeqOptions {
    data_type: Option<String>,
    increment: Option<i64>,
    min: Option<Option<i64>>,
    max: Option<Option<i64>>,
    start: Option<i64>,
    cycle: Option<bool>,
}

impl SeqOptions {
    fn parse(&mut self, c: &mut Cursor<'_>) -> Result<(), Fail> {
        while !c.done() {
            if c.eat("AS") {
                let r = c.until(|c| c.peek().is_some_and(|t| t.kind == Kind::Word && is_seq_option(&t.text)));
                self.data_type = Some(normalize_type(Dialect::Postgres, c.text_of(r)));
            } else if c.eat("INCREMENT") {
                let _ = c.eat("BY");
                self.increment = Some(c.integer()?);
            } else if c.eat_seq(&["NO", "MINVALUE"]) {
                self.min = Some(None);
            } else if c.eat_seq(&["NO", "MAXVALUE"]) {
                self.max = Some(None);
            } else if c.eat("MINVALUE") {
                self.min = Some(Some(c.integer()?));
            } else if c.eat("MAXVALUE") {
                self.max = Some(Some(c.integer()?));
            } else if c.eat("START") {
                let _ = c.eat("WITH");
                self.start = Some(c.integer()?);
            } else if c.eat("RESTART") {
                let _ = c.eat("WITH");
                if c.peek().is_some_and(|t| t.kind == Kind::Num || t.is_punct("-")) {
                    c.integer()?;
                }
            } else if c.eat("CACHE") {
                c.integer()?;
            } else if c.eat_seq(&["NO", "CYCLE"]) {
                self.cycle = Some(false);
            } else if c.eat("CYCLE") {
                self.cycle = Some(true);
            } else if c.eat_seq(&["OWNED", "BY"]) {
                c.until(|_| false);
            } else {
                return Err(format!("unsupported sequence option {}", c.found()));
            }
        }
        Ok(())
    }

    fn build(&self, old: Option<&Sequence>, schema: Option<String>, name: String) -> Result<Sequence, Fail> {
        let data_type =
            self.data_type.clone().or_else(|| old.map(|o| o.data_type.clone())).unwrap_or_else(|| "bigint".into());
        let (tmin, tmax) = match data_type.as_str() {
            "smallint" => (i64::from(i16::MIN), i64::from(i16::MAX)),
            "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
            "bigint" => (i64::MIN, i64::MAX),
            other => return Err(format!("sequence type {other} is not an integer type")),
        };
        let increment = self.increment.or(old.map(|o| o.increment)).unwrap_or(1);
        if increment == 0 {
            return Err("INCREMENT must not be zero".to_owned());
        }
        let asc = increment > 0;
        let min = match self.min {
            Some(Some(v)) => v,
            Some(None) => {
                if asc {
                    1
                } else {
                    tmin
                }
            }
            None => old.map_or(if asc { 1 } else { tmin }, |o| o.min_value),
        };
        let max = match self.max {
            Some(Some(v)) => v,
            Some(None) => {
                if asc {
                    tmax
                } else {
                    -1
                }
            }
            None => old.map_or(if asc { tmax } else { -1 }, |o| o.max_value),
        };
        // A new type narrows limits that were the old type's bounds.
        let (min, max) = match (old, &self.data_type) {
            (Some(o), Some(_)) if self.max.is_none() && o.max_value > tmax => (min, tmax),
            _ => (min, max),
        };
        let start = self.start.or(old.map(|o| o.start)).unwrap_or(if asc { min } else { max });
        if min > max || start < min || start > max {
            return Err("sequence limits are inconsistent".to_owned());
        }
        Ok(Sequence {
            schema,
            name,
            data_type,
            start,
            increment,
            min_value: min,
            max_value: max,
            cycle: self.cycle.or(old.map(|o| o.cycle)).unwrap_or(false),
        })
    }
}

fn is_seq_option(w: &str) -> bool {
    ["INCREMENT", "MINVALUE", "MAXVALUE", "NO", "START", "RESTART", "CACHE", "CYCLE", "OWNED"]
        .iter()
        .any(|o| o.eq_ignore_ascii_case(w))
}

/// psql meta-commands change nothing except `\i` / `\ir` / `\include`, which run another file.
fn meta_command(text: &str) -> Result<Outcome, Fail> {
    let cmd = text.split_whitespace().next().unwrap_or("");
    if matches!(cmd, "\\i" | "\\ir" | "\\include" | "\\include_relative") {
        return Err("psql includes another file, which is not followed".to_owned());
    }
    Ok(Outcome::Skipped)
}

fn is_table_constraint_start(c: &Cursor<'_>) -> bool {
    c.at("CONSTRAINT")
        || c.at_seq(&["PRIMARY", "KEY"])
        || (c.at("UNIQUE") && c.peek_at(1).is_some_and(|t| t.is_punct("(") || t.is("NULLS") || t.is("USING")))
        || (c.at("CHECK") && c.peek_at(1).is_some_and(|t| t.is_punct("(")))
        || c.at_seq(&["FOREIGN", "KEY"])
        || c.at("EXCLUDE")
}

fn is_column_constraint_start(c: &Cursor<'_>) -> bool {
    let Some(t) = c.peek() else { return true };
    if t.kind != Kind::Word {
        return false;
    }
    const STOPS: [&str; 15] = [
        "CONSTRAINT",
        "NULL",
        "DEFAULT",
        "PRIMARY",
        "UNIQUE",
        "CHECK",
        "REFERENCES",
        "GENERATED",
        "COLLATE",
        "AUTOINCREMENT",
        "DEFERRABLE",
        "INITIALLY",
        "AS",
        "ON",
        "STORED",
    ];
    STOPS.iter().any(|s| t.is(s)) || c.at_seq(&["NOT", "NULL"]) || c.at_seq(&["NOT", "DEFERRABLE"])
}

fn deferrability(c: &mut Cursor<'_>) -> (bool, bool) {
    let mut deferrable = false;
    let mut deferred = false;
    loop {
        if c.eat("DEFERRABLE") {
            deferrable = true;
        } else if c.eat_seq(&["NOT", "DEFERRABLE"]) {
            deferrable = false;
        } else if c.eat_seq(&["INITIALLY", "DEFERRED"]) {
            deferred = true;
        } else if c.eat_seq(&["INITIALLY", "IMMEDIATE"]) {
            deferred = false;
        } else {
            break;
        }
    }
    (deferrable || deferred, deferred)
}

fn fk_action(c: &mut Cursor<'_>) -> Result<FkAction, Fail> {
    Ok(if c.eat("CASCADE") {
        FkAction::Cascade
    } else if c.eat("RESTRICT") {
        FkAction::Restrict
    } else if c.eat_seq(&["SET", "NULL"]) {
        FkAction::SetNull
    } else if c.eat_seq(&["SET", "DEFAULT"]) {
        FkAction::SetDefault
    } else if c.eat_seq(&["NO", "ACTION"]) {
        FkAction::NoAction
    } else {
        return Err(format!("unknown referential action {}", c.found()));
    })
}

/// The table's columns that a CHECK expression mentions, deduplicated, in order of appearance.
fn referenced_columns(
    c: &Cursor<'_>,
    range: std::ops::Range<usize>,
    table: &Table,
    own: Option<&str>,
    same: impl Fn(&str, &str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in range.clone() {
        let t = &c.toks[i];
        if !matches!(t.kind, Kind::Word | Kind::Quoted) {
            continue;
        }
        if c.toks.get(i + 1).is_some_and(|n| n.is_punct("(")) {
            continue;
        }
        let name = if t.kind == Kind::Word { t.text.to_lowercase() } else { t.text.clone() };
        let known = table.columns.iter().find(|col| same(&col.name, &name)).map(|col| col.name.clone());
        let known = known.or_else(|| own.filter(|o| same(o, &name)).map(str::to_owned));
        if let Some(n) = known
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label` within 63 bytes, truncating the longer part.
fn make_object_name(name1: &str, name2: &str, label: &str) -> String {
    let overhead = label.len() + 1 + usize::from(!name2.is_empty());
    let avail = 63usize.saturating_sub(overhead);
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 { n1 -= 1 } else { n2 -= 1 }
    }
    let cut = |s: &str, mut n: usize| {
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_owned()
    };
    let mut out = cut(name1, n1);
    if !name2.is_empty() {
        out.push('_');
        out.push_str(&cut(name2, n2));
    }
    out.push('_');
    out.push_str(label);
    out
}

/// PostgreSQL's `quote_ident`.
pub(crate) fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !is_reserved(name);
    if plain { name.to_owned() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

fn is_reserved(w: &str) -> bool {
    const RESERVED: [&str; 24] = [
        "all",
        "and",
        "any",
        "as",
        "asc",
        "case",
        "check",
        "column",
        "constraint",
        "create",
        "default",
        "desc",
        "distinct",
        "else",
        "end",
        "from",
        "group",
        "in",
        "not",
        "null",
        "or",
        "order",
        "select",
        "table",
    ];
    RESERVED.contains(&w) || matches!(w, "user" | "where" | "when" | "to" | "unique" | "primary" | "references")
}

/// `(expr)` → `expr` when the parentheses enclose the whole text.
fn strip_outer_parens(text: &str) -> &str {
    let t = text.trim();
    if !(t.starts_with('(') && t.ends_with(')')) {
        return t;
    }
    let toks = tokenize(t);
    let mut depth = 0i32;
    for (i, tok) in toks.iter().enumerate() {
        if tok.is_punct("(") {
            depth += 1;
        } else if tok.is_punct(")") {
            depth -= 1;
            if depth == 0 && i + 1 != toks.len() {
                return t;
            }
        }
    }
    t.get(1..t.len() - 1).map_or(t, str::trim)
}

/// Whether `ty` is the type `name` or an array of it.
fn type_is(ty: &str, name: &str) -> bool {
    ty == name || ty.strip_prefix(name).is_some_and(|r| r.starts_with('[') || r.starts_with('('))
}

/// Whether expression text mentions identifier `name` (outside strings).
fn mentions_ident(expr: &str, name: &str) -> bool {
    tokenize(expr).iter().any(|t| matches!(t.kind, Kind::Word | Kind::Quoted) && t.text.eq_ignore_ascii_case(name))
}

/// Replace identifier `old` with `new` in expression text (outside strings).
fn replace_ident(expr: &str, old: &str, new: &str, dialect: Dialect) -> String {
    let toks = tokenize(expr);
    let mut out = String::with_capacity(expr.len());
    let mut last = 0;
    for t in &toks {
        let hit = match t.kind {
            Kind::Word => {
                if dialect == Dialect::Postgres {
                    t.text.to_lowercase() == old
                } else {
                    t.text.eq_ignore_ascii_case(old)
                }
            }
            Kind::Quoted => t.text == old,
            _ => false,
        };
        if hit {
            out.push_str(&expr[last..t.start]);
            out.push_str(&if dialect == Dialect::Postgres { quote_ident(new) } else { new.to_owned() });
            last = t.end;
        }
    }
    out.push_str(&expr[last..]);
    out
}

/// After a column rename: constraints, indexes and expressions name the new column.
fn rename_column_refs(table: &mut Table, old: &str, new: &str, dialect: Dialect) {
    let swap = |v: &mut Vec<String>| {
        for n in v.iter_mut().filter(|n| n.as_str() == old) {
            *n = new.to_owned();
        }
    };
    if let Some(p) = table.primary_key.as_mut() {
        swap(&mut p.columns);
    }
    for u in table.uniques.values_mut() {
        swap(&mut u.columns);
    }
    for f in table.foreign_keys.values_mut() {
        swap(&mut f.columns);
    }
    let me = table.key();
    for f in table.foreign_keys.values_mut().filter(|f| f.references == me) {
        swap(&mut f.referenced_columns);
    }
    let checks = std::mem::take(&mut table.checks);
    for (k, mut ch) in checks {
        ch.expression = replace_ident(&ch.expression, old, new, dialect);
        let k =
            if dialect == Dialect::Sqlite && k.starts_with("check(") { format!("check({})", ch.expression) } else { k };
        table.checks.insert(k, ch);
    }
    for ix in table.indexes.values_mut() {
        for e in ix.columns.iter_mut().chain(ix.include.iter_mut()).chain(ix.predicate.iter_mut()) {
            *e = replace_ident(e, old, new, dialect);
        }
    }
    for col in &mut table.columns {
        if let Some(g) = col.generated.as_mut() {
            g.expression = replace_ident(&g.expression, old, new, dialect);
        }
    }
    if dialect == Dialect::Sqlite {
        let uniques = std::mem::take(&mut table.uniques);
        for (k, u) in uniques {
            let k = if k.starts_with("unique(") { format!("unique({})", u.columns.join(",")) } else { k };
            table.uniques.insert(k, u);
        }
        let fks = std::mem::take(&mut table.foreign_keys);
        for (k, f) in fks {
            let k = if k.starts_with("fk(") { format!("fk({})", f.columns.join(",")) } else { k };
            table.foreign_keys.insert(k, f);
        }
    }
}

fn rename_key<V>(map: &mut BTreeMap<String, V>, old: &str, new: &str) -> bool {
    match map.remove(old) {
        Some(v) => {
            map.insert(new.to_owned(), v);
            true
        }
        None => false,
    }
}

/// The provenance keys of a table's parts.
fn table_object_keys(t: &Table) -> Vec<String> {
    let key = t.key();
    let mut out: Vec<String> = t.columns.iter().map(|c| object_key("column", &format!("{key}.{}", c.name))).collect();
    let cons = t
        .primary_key
        .iter()
        .map(|p| p.name.clone().unwrap_or_else(|| "primary key".to_owned()))
        .chain(t.uniques.keys().cloned())
        .chain(t.checks.keys().cloned())
        .chain(t.foreign_keys.keys().cloned());
    out.extend(cons.map(|n| object_key("constraint", &format!("{key}.{n}"))));
    out
}

/// PostgreSQL's `pg_get_function_identity_arguments` for an argument list: `IN` arguments with
/// names and types as `format_type` prints them; `OUT` arguments and defaults left out.
fn identity_arguments(c: &Cursor<'_>, range: std::ops::Range<usize>) -> Result<String, Fail> {
    let mut out = Vec::new();
    for item in c.split_commas(range) {
        let mut a = c.sub(&c.toks[item]);
        if a.done() {
            continue;
        }
        let mut mode = "";
        for m in ["IN", "OUT", "INOUT", "VARIADIC"] {
            if a.eat(m) {
                mode = m;
                break;
            }
        }
        if mode == "OUT" {
            continue;
        }
        let r = a.until(|c| c.at("DEFAULT") || c.peek().is_some_and(|t| t.is_punct("=")));
        let words = &a.toks[r.clone()];
        // `name type` unless the first word starts a multi-word type.
        let has_name = words.len() >= 2
            && matches!(words[0].kind, Kind::Word | Kind::Quoted)
            && !words[1].is_punct("(")
            && !words[1].is_punct("[")
            && !words[1].is_punct(".")
            && !["double", "character", "timestamp", "time", "bit", "interval", "national"]
                .iter()
                .any(|w| words[0].is(w));
        let (name, ty) = if has_name {
            let mut n = a.sub(&words[..1]);
            (Some(n.ident()?), a.text_of(r.start + 1..r.end))
        } else {
            (None, a.text_of(r.clone()))
        };
        // Identity arguments carry no type modifiers (`character varying`, not `(3)`).
        let ty = normalize_type(Dialect::Postgres, ty);
        let ty = match (ty.find('('), ty.find(')')) {
            (Some(a), Some(b)) if b > a => format!("{}{}", &ty[..a], &ty[b + 1..]),
            _ => ty,
        };
        let ty = pg_format_type(&ty);
        let prefix = match mode {
            "INOUT" => "INOUT ",
            "VARIADIC" => "VARIADIC ",
            _ => "",
        };
        out.push(match name {
            Some(n) => format!("{prefix}{} {ty}", quote_ident(&n)),
            None => format!("{prefix}{ty}"),
        });
    }
    Ok(out.join(", "))
}

/// A normalized type as PostgreSQL's `format_type` prints it.
fn pg_format_type(t: &str) -> String {
    let (base, array) = match t.find('[') {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let (name, modifier) = match base.find('(') {
        Some(i) => (&base[..i], &base[i..]),
        None => (base, ""),
    };
    let name = match name {
        "varchar" => "character varying",
        "char" => "character",
        "timestamptz" => return format!("timestamp{modifier} with time zone{array}"),
        "timestamp" => return format!("timestamp{modifier} without time zone{array}"),
        "timetz" => return format!("time{modifier} with time zone{array}"),
        "time" => return format!("time{modifier} without time zone{array}"),
        other => other,
    };
    format!("{name}{modifier}{array}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dialect: Dialect, sql: &str) -> StaticSchema {
        let mut i = Interpreter::new(dialect);
        i.apply_file(Path::new("m.sql"), sql);
        i.finish()
    }

    #[test]
    fn generated_names_follow_postgres() {
        let s = run(
            Dialect::Postgres,
            "CREATE TABLE t (id serial PRIMARY KEY, a int UNIQUE, b int CHECK (b > 0), CHECK (a > b), \
             p int REFERENCES t);\nCREATE INDEX ON t (a, b);\nCREATE INDEX ON t (lower(a::text));",
        );
        assert!(s.unmodelled.is_empty(), "{:?}", s.unmodelled);
        let t = &s.schema.tables["t"];
        assert_eq!(t.primary_key.as_ref().and_then(|p| p.name.as_deref()), Some("t_pkey"));
        assert!(t.uniques.contains_key("t_a_key"));
        assert!(t.checks.contains_key("t_b_check"));
        assert!(t.checks.contains_key("t_check"));
        assert_eq!(t.foreign_keys["t_p_fkey"].referenced_columns, ["id"]);
        assert!(t.indexes.contains_key("t_a_b_idx"));
        assert!(t.indexes.contains_key("t_expr_idx"));
        assert_eq!(make_object_name(&"x".repeat(70), "col", "key").len(), 63);
    }

    #[test]
    fn unmodelled_statements_are_listed_with_lines() {
        let s =
            run(Dialect::Postgres, "CREATE TABLE t (id int);\n\nDO $$ BEGIN EXECUTE 'x'; END $$;\nALTER TABLE t FROB;");
        assert_eq!(s.unmodelled.len(), 2);
        assert_eq!(s.unmodelled[0].line, 3);
        assert_eq!(s.unmodelled[1].line, 4);
        assert_eq!(s.origin("column:t.id").map(|o| o.line), Some(1));
    }

    #[test]
    fn psql_meta_commands_and_transactions_are_skipped() {
        let sql = "\\set ON_ERROR_STOP on\nBEGIN;\nCREATE TABLE t (id int);\n\\ir other.sql\nCOMMIT;\n";
        let sts = statements(sql, Dialect::Postgres);
        assert_eq!(sts.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        let s = run(Dialect::Postgres, sql);
        assert!(s.schema.tables.contains_key("t"));
        assert_eq!(s.unmodelled.len(), 1, "{:?}", s.unmodelled);
        assert_eq!(s.unmodelled[0].line, 4);
    }

    #[test]
    fn a_failing_statement_changes_nothing() {
        let s = run(
            Dialect::Postgres,
            "CREATE TABLE t (id int, a int);\nALTER TABLE t ADD COLUMN b int, DROP COLUMN nope;\nALTER TABLE t ALTER COLUMN a SET NOT NULL, FROB;",
        );
        let t = &s.schema.tables["t"];
        assert_eq!(t.columns.len(), 2);
        assert!(t.columns[1].nullable);
        assert_eq!(s.unmodelled.len(), 2);
    }

    #[test]
    fn enums_sequences_and_sqlite_rebuilds() {
        let s = run(
            Dialect::Postgres,
            "CREATE TYPE mood AS ENUM ('sad', 'happy');\nALTER TYPE mood ADD VALUE 'ok' BEFORE 'happy';\n\
             ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';\nCREATE SEQUENCE s INCREMENT BY -2;",
        );
        assert_eq!(s.schema.enums["mood"].labels, ["blue", "ok", "happy"]);
        let q = &s.schema.sequences["s"];
        assert_eq!((q.start, q.min_value, q.max_value), (-1, i64::MIN, -1));
        let s = run(
            Dialect::Sqlite,
            "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p INT REFERENCES p);\n\
             CREATE TABLE c_new (id INTEGER PRIMARY KEY, p INT NOT NULL REFERENCES p);\nINSERT INTO c_new SELECT * FROM c;\n\
             DROP TABLE c;\nALTER TABLE c_new RENAME TO c;",
        );
        assert!(s.unmodelled.is_empty(), "{:?}", s.unmodelled);
        assert_eq!(s.schema.tables.keys().collect::<Vec<_>>(), ["c", "p"]);
        assert!(!s.schema.tables["c"].columns[1].nullable);
        assert_eq!(s.origin("table:c").map(|o| o.line), Some(6));
    }

    #[test]
    fn function_identity_arguments_match_format_type() {
        let s = run(
            Dialect::Postgres,
            "CREATE FUNCTION f(x int, OUT y text, v varchar(3) DEFAULT 'a', double precision) RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;",
        );
        let keys: Vec<&String> = s.schema.functions.keys().collect();
        assert_eq!(keys, ["f(x integer, v character varying, double precision)"]);
    }
}
