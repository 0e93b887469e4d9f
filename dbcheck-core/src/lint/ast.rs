//! The lint's view of a statement: what it does to which objects, with byte spans into the file.
//! A forgiving classifier over the static interpreter's tokens — a statement it does not
//! recognise is `Stmt::Other` (rules say nothing about it), it never fails and never panics.

use std::ops::Range;

use crate::db::Dialect;
use crate::schema::{Schema, Table};
use crate::sql::{Cursor, Statement, TokenKind};

/// A possibly qualified object name, as the server folds it, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// Namespace, `None` for the dialect's default one.
    pub schema: Option<String>,
    /// The object's name.
    pub name: String,
    /// Byte range in the file.
    pub span: Range<usize>,
}

impl Name {
    /// The key the schema model uses for a table of this name.
    pub fn key(&self) -> String {
        crate::schema::qualified_name(self.schema.as_deref(), &self.name)
    }
}

/// A column definition (`CREATE TABLE` item or `ADD COLUMN`).
#[derive(Debug, Clone, Default)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// The type as written (`varchar(20)`, `serial`), empty when absent (SQLite).
    pub type_text: String,
    /// `NOT NULL` was given.
    pub not_null: bool,
    /// The `DEFAULT` expression as written.
    pub default: Option<String>,
    /// `PRIMARY KEY` on the column.
    pub primary_key: bool,
    /// `UNIQUE` on the column.
    pub unique: bool,
    /// `REFERENCES table`.
    pub references: Option<String>,
    /// A `CHECK` on the column.
    pub check: bool,
    /// `GENERATED … AS IDENTITY` / `AUTO_INCREMENT` / `AUTOINCREMENT`.
    pub identity: bool,
    /// `GENERATED ALWAYS AS (…) STORED`.
    pub generated: bool,
    /// Byte range of the whole definition in the file.
    pub span: Range<usize>,
    /// Byte range of the type.
    pub type_span: Range<usize>,
}

/// The kind of a table constraint being added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    /// `CHECK (expr)`, with the expression text.
    Check(String),
    /// `FOREIGN KEY (cols) REFERENCES table`.
    ForeignKey {
        /// Referencing columns.
        columns: Vec<String>,
        /// Referenced table, as written.
        references: String,
    },
    /// `UNIQUE (cols)`.
    Unique(Vec<String>),
    /// `PRIMARY KEY (cols)`.
    PrimaryKey(Vec<String>),
    /// `EXCLUDE …`.
    Exclude,
}

/// One action of an `ALTER TABLE`.
#[derive(Debug, Clone)]
pub enum Action {
    /// `ADD [COLUMN]`.
    AddColumn(ColumnDef),
    /// `DROP [COLUMN] name`.
    DropColumn {
        /// Column name.
        column: String,
        /// Where.
        span: Range<usize>,
    },
    /// `ALTER [COLUMN] c [SET DATA] TYPE t` (and MySQL `MODIFY`/`CHANGE`).
    AlterType {
        /// Column name.
        column: String,
        /// New type as written.
        new_type: String,
        /// A `USING` clause was given.
        using: bool,
        /// MySQL `MODIFY`/`CHANGE` restate the whole column: was `NOT NULL` among it?
        not_null: Option<bool>,
        /// Where.
        span: Range<usize>,
    },
    /// `ALTER [COLUMN] c SET NOT NULL`.
    SetNotNull {
        /// Column name.
        column: String,
        /// Where.
        span: Range<usize>,
    },
    /// `ALTER [COLUMN] c DROP NOT NULL`.
    DropNotNull {
        /// Column name.
        column: String,
        /// Where.
        span: Range<usize>,
    },
    /// `ALTER [COLUMN] c SET DEFAULT e`.
    SetDefault {
        /// Column name.
        column: String,
        /// Where.
        span: Range<usize>,
    },
    /// `ALTER [COLUMN] c DROP DEFAULT`.
    DropDefault {
        /// Column name.
        column: String,
        /// Where.
        span: Range<usize>,
    },
    /// `ADD [CONSTRAINT name] …`.
    AddConstraint {
        /// The constraint's name, when given.
        name: Option<String>,
        /// What it is.
        kind: ConstraintKind,
        /// `NOT VALID` was given.
        not_valid: bool,
        /// `USING INDEX name` (PostgreSQL: the index exists already).
        using_index: bool,
        /// Where.
        span: Range<usize>,
    },
    /// `VALIDATE CONSTRAINT name`.
    ValidateConstraint {
        /// Constraint name.
        name: String,
        /// Where.
        span: Range<usize>,
    },
    /// `DROP CONSTRAINT name`.
    DropConstraint {
        /// Constraint name.
        name: String,
        /// Where.
        span: Range<usize>,
    },
    /// `RENAME [COLUMN] a TO b` (and MySQL `CHANGE a b …` with a different name).
    RenameColumn {
        /// Old name.
        from: String,
        /// New name.
        to: String,
        /// Where.
        span: Range<usize>,
    },
    /// `RENAME TO new`.
    RenameTable {
        /// The new name.
        to: String,
        /// Where.
        span: Range<usize>,
    },
    /// MySQL `ADD INDEX`/`ADD KEY`: an index built as part of the table change.
    AddIndex {
        /// Unique index.
        unique: bool,
        /// Where.
        span: Range<usize>,
    },
    /// Anything else (`SET STATISTICS`, `OWNER TO`, …).
    Other {
        /// Where.
        span: Range<usize>,
    },
}

impl Action {
    /// Byte range of the action in the file.
    pub fn span(&self) -> Range<usize> {
        match self {
            Action::AddColumn(c) => c.span.clone(),
            Action::DropColumn { span, .. }
            | Action::AlterType { span, .. }
            | Action::SetNotNull { span, .. }
            | Action::DropNotNull { span, .. }
            | Action::SetDefault { span, .. }
            | Action::DropDefault { span, .. }
            | Action::AddConstraint { span, .. }
            | Action::ValidateConstraint { span, .. }
            | Action::DropConstraint { span, .. }
            | Action::RenameColumn { span, .. }
            | Action::RenameTable { span, .. }
            | Action::AddIndex { span, .. }
            | Action::Other { span } => span.clone(),
        }
    }
}

/// What a statement is, as far as the rules care.
#[derive(Debug, Clone)]
pub enum Stmt {
    /// `CREATE TABLE`.
    CreateTable {
        /// The table.
        table: Name,
        /// Its columns.
        columns: Vec<ColumnDef>,
        /// Table-level constraints.
        constraints: Vec<ConstraintKind>,
    },
    /// `CREATE [UNIQUE] INDEX`.
    CreateIndex {
        /// The index name, when given.
        name: Option<String>,
        /// The table.
        table: Name,
        /// `UNIQUE`.
        unique: bool,
        /// `CONCURRENTLY`.
        concurrently: bool,
    },
    /// `DROP INDEX`.
    DropIndex {
        /// The indexes (MySQL: with `ON table`).
        names: Vec<Name>,
        /// `CONCURRENTLY`.
        concurrently: bool,
    },
    /// `REINDEX … [CONCURRENTLY]`.
    Reindex {
        /// `CONCURRENTLY`.
        concurrently: bool,
    },
    /// `ALTER TABLE`.
    AlterTable {
        /// The table.
        table: Name,
        /// Its actions, in order.
        actions: Vec<Action>,
    },
    /// MySQL `RENAME TABLE a TO b`.
    RenameTable {
        /// Old name.
        from: Name,
        /// New name.
        to: String,
    },
    /// `DROP TABLE`.
    DropTable {
        /// The tables.
        names: Vec<Name>,
        /// `CASCADE`.
        cascade: bool,
    },
    /// `DROP SCHEMA` / `DROP DATABASE`.
    DropNamespace {
        /// `SCHEMA` or `DATABASE`.
        what: &'static str,
        /// The names.
        names: Vec<Name>,
        /// `CASCADE`.
        cascade: bool,
    },
    /// `TRUNCATE`.
    Truncate {
        /// The tables.
        names: Vec<Name>,
        /// `CASCADE`.
        cascade: bool,
    },
    /// `CREATE TYPE name AS ENUM (…)`.
    CreateEnum {
        /// The type.
        name: Name,
        /// Its labels.
        labels: Vec<String>,
    },
    /// `ALTER TYPE name ADD VALUE`.
    AddEnumValue {
        /// The type.
        name: Name,
    },
    /// `ALTER TYPE name RENAME VALUE 'a' TO 'b'`.
    RenameEnumValue {
        /// The type.
        name: Name,
        /// Old label.
        from: String,
        /// New label.
        to: String,
    },
    /// `DROP TYPE`.
    DropType {
        /// The types.
        names: Vec<Name>,
    },
    /// `SET [SESSION|LOCAL] name = value`.
    Set {
        /// Setting name, lowercase.
        name: String,
        /// Value text.
        value: String,
    },
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `UPDATE table …`.
    Update {
        /// The table.
        table: Name,
        /// Column assigned → expression text.
        assignments: Vec<(String, String)>,
        /// Has a `WHERE`.
        filtered: bool,
    },
    /// `DELETE FROM table …`.
    Delete {
        /// The table.
        table: Name,
        /// Has a `WHERE`.
        filtered: bool,
    },
    /// Anything else.
    Other,
}

/// Classify `st`, a statement that starts at byte `st.span.start` of its file.
pub fn classify(st: &Statement<'_>, dialect: Dialect) -> Stmt {
    if st.text.starts_with('\\') || st.tokens.is_empty() {
        return Stmt::Other;
    }
    let mut p = P { c: Cursor::new(st.text, &st.tokens, dialect), base: st.span.start, dialect };
    p.statement().unwrap_or(Stmt::Other)
}

/// The classifier's state: a cursor and the statement's offset in the file.
struct P<'a> {
    c: Cursor<'a>,
    base: usize,
    dialect: Dialect,
}

/// Words that end a column's type in a column definition.
const COLUMN_CONSTRAINT_WORDS: &[&str] = &[
    "CONSTRAINT",
    "NOT",
    "NULL",
    "DEFAULT",
    "PRIMARY",
    "UNIQUE",
    "REFERENCES",
    "CHECK",
    "GENERATED",
    "COLLATE",
    "AUTO_INCREMENT",
    "AUTOINCREMENT",
    "COMMENT",
    "AS",
    "ON",
    "FIRST",
    "AFTER",
    "IDENTITY",
];

impl<'a> P<'a> {
    /// File byte range of token range `r` (empty at the cursor for an empty range).
    fn span(&self, r: Range<usize>) -> Range<usize> {
        let toks = self.c.toks;
        if r.start >= r.end || r.end > toks.len() {
            let at = toks.get(r.start).map_or_else(|| toks.last().map_or(0, |t| t.end), |t| t.start);
            return self.base + at..self.base + at;
        }
        self.base + toks[r.start].start..self.base + toks[r.end - 1].end
    }

    fn name(&mut self) -> Option<Name> {
        let start = self.c.i;
        let (schema, name) = self.c.qname().ok()?;
        Some(Name { schema, name, span: self.span(start..self.c.i) })
    }

    fn names(&mut self) -> Vec<Name> {
        let mut out = Vec::new();
        while let Some(n) = self.name() {
            out.push(n);
            // PostgreSQL `ONLY name *`.
            self.c.eat_punct("*");
            if !self.c.eat_punct(",") {
                break;
            }
        }
        out
    }

    fn statement(&mut self) -> Option<Stmt> {
        let first = self.c.peek()?;
        if first.kind != TokenKind::Word {
            return None;
        }
        let word = first.text.to_ascii_uppercase();
        self.c.i += 1;
        match word.as_str() {
            "CREATE" => self.create(),
            "DROP" => self.drop(),
            "ALTER" => self.alter(),
            "TRUNCATE" => {
                self.c.eat("TABLE");
                self.c.eat("ONLY");
                let names = self.names();
                let cascade = self.rest_has("CASCADE");
                Some(Stmt::Truncate { names, cascade })
            }
            "RENAME" => {
                self.c.eat("TABLE");
                let from = self.name()?;
                self.c.expect("TO").ok()?;
                let to = self.c.ident().ok()?;
                Some(Stmt::RenameTable { from, to })
            }
            "REINDEX" => Some(Stmt::Reindex { concurrently: self.rest_has("CONCURRENTLY") }),
            "SET" => self.set(),
            "BEGIN" | "START" => Some(Stmt::Begin),
            "COMMIT" | "END" => Some(Stmt::Commit),
            "ROLLBACK" | "ABORT" => Some(Stmt::Rollback),
            "UPDATE" => self.update(),
            "DELETE" => {
                self.c.expect("FROM").ok()?;
                self.c.eat("ONLY");
                let table = self.name()?;
                Some(Stmt::Delete { table, filtered: self.rest_has("WHERE") })
            }
            _ => None,
        }
    }

    /// Whether keyword `kw` appears at depth 0 in the rest of the statement.
    fn rest_has(&mut self, kw: &str) -> bool {
        let mut found = false;
        while !self.c.done() {
            if self.c.at(kw) {
                found = true;
            }
            self.c.skip_item();
        }
        found
    }

    fn set(&mut self) -> Option<Stmt> {
        let _ = self.c.eat("SESSION") || self.c.eat("LOCAL") || self.c.eat("GLOBAL");
        let mut name = self.c.ident().ok()?.to_lowercase();
        // `SET @@session.x` / dotted settings.
        while self.c.eat_punct(".") {
            name = self.c.ident().ok()?.to_lowercase();
        }
        if !(self.c.eat_punct("=") || self.c.eat("TO")) {
            return Some(Stmt::Set { name, value: String::new() });
        }
        let range = self.c.until(|_| false);
        let value = self.c.text_of(range).trim_matches('\'').to_owned();
        Some(Stmt::Set { name, value })
    }

    fn update(&mut self) -> Option<Stmt> {
        self.c.eat("ONLY");
        let table = self.name()?;
        // An alias.
        if !self.c.at("SET") {
            self.c.eat("AS");
            let _ = self.c.ident();
        }
        self.c.expect("SET").ok()?;
        let body = self.c.until(|c| c.at("WHERE") || c.at("FROM") || c.at("RETURNING"));
        let mut assignments = Vec::new();
        for item in self.c.split_commas(body) {
            let mut sub = self.c.sub(&self.c.toks[item]);
            let Ok(col) = sub.ident() else { continue };
            if sub.eat_punct("=") {
                let rest = sub.until(|_| false);
                assignments.push((col, sub.text_of(rest).to_owned()));
            }
        }
        let filtered = self.rest_has("WHERE");
        Some(Stmt::Update { table, assignments, filtered })
    }

    fn create(&mut self) -> Option<Stmt> {
        let _ = self.c.eat_seq(&["OR", "REPLACE"]);
        let unique = self.c.eat("UNIQUE");
        if self.c.eat("INDEX") {
            let concurrently = self.c.eat("CONCURRENTLY");
            let _ = self.c.eat_seq(&["IF", "NOT", "EXISTS"]);
            let name = if self.c.at("ON") { None } else { self.c.ident().ok() };
            self.c.expect("ON").ok()?;
            self.c.eat("ONLY");
            let table = self.name()?;
            return Some(Stmt::CreateIndex { name, table, unique, concurrently });
        }
        if unique {
            return None;
        }
        while self.c.eat("GLOBAL") || self.c.eat("LOCAL") || self.c.eat("UNLOGGED") {}
        if self.c.eat("TEMPORARY") || self.c.eat("TEMP") {
            return None;
        }
        if self.c.eat("TYPE") {
            let name = self.name()?;
            if !self.c.eat_seq(&["AS", "ENUM"]) {
                return None;
            }
            let inner = self.c.group().ok()?;
            let labels = self
                .c
                .split_commas(inner)
                .into_iter()
                .filter_map(|r| {
                    let mut sub = self.c.sub(&self.c.toks[r]);
                    sub.string().ok()
                })
                .collect();
            return Some(Stmt::CreateEnum { name, labels });
        }
        if !self.c.eat("TABLE") {
            return None;
        }
        let _ = self.c.eat_seq(&["IF", "NOT", "EXISTS"]);
        let table = self.name()?;
        if !self.c.peek().is_some_and(|t| t.is_punct("(")) {
            // CREATE TABLE … AS SELECT / LIKE: a new table, columns unknown here.
            return Some(Stmt::CreateTable { table, columns: Vec::new(), constraints: Vec::new() });
        }
        let inner = self.c.group().ok()?;
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        for item in self.c.split_commas(inner) {
            let mut sub = P { c: self.c.sub(&self.c.toks[item.clone()]), base: self.base, dialect: self.dialect };
            // Sub-cursor spans are relative to the slice: shift by the item's first token.
            if let Some(k) = sub.table_constraint() {
                constraints.push(k);
                continue;
            }
            let mut sub = P { c: self.c.sub(&self.c.toks[item.clone()]), base: self.base, dialect: self.dialect };
            if let Some(mut col) = sub.column_def() {
                col.span = self.span(item.clone());
                let shift = item.start;
                col.type_span = self.span(col_type_tokens(&col, shift));
                columns.push(col);
            }
        }
        Some(Stmt::CreateTable { table, columns, constraints })
    }

    /// A table constraint (`[CONSTRAINT n] CHECK/UNIQUE/PRIMARY KEY/FOREIGN KEY/EXCLUDE …`).
    fn table_constraint(&mut self) -> Option<ConstraintKind> {
        if self.c.eat("CONSTRAINT") {
            let _ = self.c.ident();
        }
        if self.c.eat("CHECK") {
            let inner = self.c.group().ok()?;
            return Some(ConstraintKind::Check(self.c.text_of(inner).to_owned()));
        }
        if self.c.eat("UNIQUE") {
            let _ = self.c.eat("KEY") || self.c.eat("INDEX");
            if !self.c.peek().is_some_and(|t| t.is_punct("(")) {
                let _ = self.c.ident();
            }
            return Some(ConstraintKind::Unique(self.c.name_list().unwrap_or_default()));
        }
        if self.c.eat_seq(&["PRIMARY", "KEY"]) {
            return Some(ConstraintKind::PrimaryKey(self.c.name_list().unwrap_or_default()));
        }
        if self.c.eat_seq(&["FOREIGN", "KEY"]) {
            if !self.c.peek().is_some_and(|t| t.is_punct("(")) {
                let _ = self.c.ident();
            }
            let columns = self.c.name_list().ok()?;
            self.c.expect("REFERENCES").ok()?;
            let references = self.name()?.key();
            return Some(ConstraintKind::ForeignKey { columns, references });
        }
        if self.c.eat("EXCLUDE") {
            return Some(ConstraintKind::Exclude);
        }
        None
    }

    /// A column definition at the cursor (name, type, constraints). Spans are filled by callers.
    fn column_def(&mut self) -> Option<ColumnDef> {
        let name = self.c.ident().ok()?;
        let type_start = self.c.i;
        let type_range = self.c.until(|c| COLUMN_CONSTRAINT_WORDS.iter().any(|w| c.at(w)));
        let mut col = ColumnDef {
            name,
            type_text: self.c.text_of(type_range.clone()).to_owned(),
            type_span: type_start..type_range.end,
            ..ColumnDef::default()
        };
        while !self.c.done() {
            if self.c.eat_seq(&["NOT", "NULL"]) {
                col.not_null = true;
            } else if self.c.eat("DEFAULT") {
                let r = self.c.until(|c| COLUMN_CONSTRAINT_WORDS.iter().any(|w| c.at(w)));
                col.default = Some(self.c.text_of(r).to_owned());
            } else if self.c.eat_seq(&["PRIMARY", "KEY"]) {
                col.primary_key = true;
                col.not_null = true;
            } else if self.c.eat("UNIQUE") {
                col.unique = true;
            } else if self.c.eat("REFERENCES") {
                col.references = self.name().map(|n| n.key());
            } else if self.c.eat("CHECK") {
                col.check = true;
                let _ = self.c.group();
            } else if self.c.eat("GENERATED") {
                let rest = self.c.until(|c| c.at("IDENTITY") || c.peek().is_some_and(|t| t.is_punct("(")));
                let _ = rest;
                if self.c.eat("IDENTITY") {
                    col.identity = true;
                } else {
                    col.generated = true;
                    let _ = self.c.group();
                }
            } else if self.c.eat("AUTO_INCREMENT") || self.c.eat("AUTOINCREMENT") {
                col.identity = true;
            } else if self.c.eat("AS") {
                col.generated = true;
                let _ = self.c.group();
            } else {
                self.c.skip_item();
            }
        }
        Some(col)
    }

    fn drop(&mut self) -> Option<Stmt> {
        if self.c.eat("INDEX") {
            let concurrently = self.c.eat("CONCURRENTLY");
            let _ = self.c.eat_seq(&["IF", "EXISTS"]);
            let mut names = self.names();
            if self.c.eat("ON") && self.dialect == Dialect::Mysql {
                // MySQL: DROP INDEX i ON t — remember the table as the index's namespace.
                if let (Some(t), Some(n)) = (self.name(), names.first_mut()) {
                    n.schema = Some(t.name);
                }
            }
            return Some(Stmt::DropIndex { names, concurrently });
        }
        if self.c.eat("TABLE") {
            let _ = self.c.eat_seq(&["IF", "EXISTS"]);
            let names = self.names();
            let cascade = self.rest_has("CASCADE");
            return Some(Stmt::DropTable { names, cascade });
        }
        for what in ["SCHEMA", "DATABASE"] {
            if self.c.eat(what) {
                let _ = self.c.eat_seq(&["IF", "EXISTS"]);
                let names = self.names();
                let cascade = self.rest_has("CASCADE");
                return Some(Stmt::DropNamespace { what, names, cascade });
            }
        }
        if self.c.eat("TYPE") {
            let _ = self.c.eat_seq(&["IF", "EXISTS"]);
            return Some(Stmt::DropType { names: self.names() });
        }
        None
    }

    fn alter(&mut self) -> Option<Stmt> {
        if self.c.eat("TYPE") {
            let name = self.name()?;
            if self.c.eat_seq(&["ADD", "VALUE"]) {
                return Some(Stmt::AddEnumValue { name });
            }
            if self.c.eat_seq(&["RENAME", "VALUE"]) {
                let from = self.c.string().ok()?;
                self.c.expect("TO").ok()?;
                let to = self.c.string().ok()?;
                return Some(Stmt::RenameEnumValue { name, from, to });
            }
            return None;
        }
        if !self.c.eat("TABLE") {
            return None;
        }
        let _ = self.c.eat_seq(&["IF", "EXISTS"]);
        self.c.eat("ONLY");
        let table = self.name()?;
        self.c.eat_punct("*");
        let rest = self.c.until(|_| false);
        let mut actions = Vec::new();
        for item in self.c.split_commas(rest) {
            let mut sub = P { c: self.c.sub(&self.c.toks[item.clone()]), base: self.base, dialect: self.dialect };
            let span = self.span(item.clone());
            let mut action = sub.action(span.clone()).unwrap_or(Action::Other { span });
            if let Action::AddColumn(col) = &mut action {
                col.type_span = self.span(col_type_tokens(col, item.start));
            }
            actions.push(action);
        }
        Some(Stmt::AlterTable { table, actions })
    }

    /// One `ALTER TABLE` action; `span` is its byte range in the file.
    fn action(&mut self, span: Range<usize>) -> Option<Action> {
        let c = &mut self.c;
        if c.eat("ADD") {
            if c.at("CONSTRAINT")
                || c.at("CHECK")
                || c.at("UNIQUE")
                || c.at_seq(&["PRIMARY", "KEY"])
                || c.at_seq(&["FOREIGN", "KEY"])
                || c.at("EXCLUDE")
            {
                let name = if c.eat("CONSTRAINT") { c.ident().ok() } else { None };
                // `ADD CONSTRAINT n UNIQUE USING INDEX i` / `PRIMARY KEY USING INDEX i`.
                let save = c.i;
                let kw_unique = c.eat("UNIQUE");
                let kw_pk = !kw_unique && c.eat_seq(&["PRIMARY", "KEY"]);
                if (kw_unique || kw_pk) && c.eat_seq(&["USING", "INDEX"]) {
                    let kind = if kw_unique {
                        ConstraintKind::Unique(Vec::new())
                    } else {
                        ConstraintKind::PrimaryKey(Vec::new())
                    };
                    return Some(Action::AddConstraint { name, kind, not_valid: false, using_index: true, span });
                }
                self.c.i = save;
                let kind = self.table_constraint()?;
                let not_valid = self.rest_has_seq(&["NOT", "VALID"]);
                return Some(Action::AddConstraint { name, kind, not_valid, using_index: false, span });
            }
            let c = &mut self.c;
            let unique = c.eat("UNIQUE");
            if c.eat("INDEX") || c.eat("KEY") || c.at("FULLTEXT") || c.at("SPATIAL") {
                return Some(Action::AddIndex { unique, span });
            }
            if unique {
                return None;
            }
            c.eat("COLUMN");
            let _ = c.eat_seq(&["IF", "NOT", "EXISTS"]);
            let mut col = self.column_def()?;
            col.span = span;
            return Some(Action::AddColumn(col));
        }
        if c.eat("DROP") {
            if c.eat("CONSTRAINT") || (self.dialect == Dialect::Mysql && (c.eat("CHECK") || c.eat("FOREIGN"))) {
                let c = &mut self.c;
                c.eat("KEY");
                let _ = c.eat_seq(&["IF", "EXISTS"]);
                return Some(Action::DropConstraint { name: c.ident().ok()?, span });
            }
            if c.at("INDEX") || c.at("KEY") || c.at_seq(&["PRIMARY", "KEY"]) {
                return Some(Action::Other { span });
            }
            if c.at("DEFAULT") {
                return Some(Action::Other { span });
            }
            c.eat("COLUMN");
            let _ = c.eat_seq(&["IF", "EXISTS"]);
            return Some(Action::DropColumn { column: c.ident().ok()?, span });
        }
        if c.eat("ALTER") {
            c.eat("COLUMN");
            let column = c.ident().ok()?;
            if c.eat_seq(&["SET", "NOT", "NULL"]) {
                return Some(Action::SetNotNull { column, span });
            }
            if c.eat_seq(&["DROP", "NOT", "NULL"]) {
                return Some(Action::DropNotNull { column, span });
            }
            if c.eat_seq(&["SET", "DEFAULT"]) {
                return Some(Action::SetDefault { column, span });
            }
            if c.eat_seq(&["DROP", "DEFAULT"]) {
                return Some(Action::DropDefault { column, span });
            }
            let _ = c.eat_seq(&["SET", "DATA"]);
            if c.eat("TYPE") {
                let r = c.until(|c| c.at("USING") || c.at("COLLATE"));
                let new_type = c.text_of(r).to_owned();
                let using = self.rest_has("USING");
                return Some(Action::AlterType { column, new_type, using, not_null: None, span });
            }
            return Some(Action::Other { span });
        }
        if c.eat("MODIFY") {
            c.eat("COLUMN");
            let col = self.column_def()?;
            return Some(Action::AlterType {
                column: col.name,
                new_type: col.type_text,
                using: false,
                not_null: Some(col.not_null),
                span,
            });
        }
        if c.eat("CHANGE") {
            c.eat("COLUMN");
            let from = c.ident().ok()?;
            let col = self.column_def()?;
            if col.name != from {
                return Some(Action::RenameColumn { from, to: col.name, span });
            }
            return Some(Action::AlterType {
                column: col.name,
                new_type: col.type_text,
                using: false,
                not_null: Some(col.not_null),
                span,
            });
        }
        if c.eat("VALIDATE") {
            c.expect("CONSTRAINT").ok()?;
            return Some(Action::ValidateConstraint { name: c.ident().ok()?, span });
        }
        if c.eat("RENAME") {
            if c.eat("CONSTRAINT") || c.eat("INDEX") || c.eat("KEY") {
                return Some(Action::Other { span });
            }
            if c.eat("TO") || c.eat("AS") {
                return Some(Action::RenameTable { to: c.ident().ok()?, span });
            }
            c.eat("COLUMN");
            let from = c.ident().ok()?;
            c.expect("TO").ok()?;
            let to = c.ident().ok()?;
            return Some(Action::RenameColumn { from, to, span });
        }
        None
    }

    fn rest_has_seq(&mut self, kws: &[&str]) -> bool {
        let mut found = false;
        while !self.c.done() {
            if self.c.at_seq(kws) {
                found = true;
            }
            self.c.skip_item();
        }
        found
    }
}

impl Stmt {
    /// The tables the statement takes a lock on that blocks reads or writes while it waits and
    /// runs: `ALTER TABLE` (except one that only validates constraints, whose lock lets reads and
    /// writes through), `CREATE INDEX` without `CONCURRENTLY`, `DROP TABLE`, `TRUNCATE`,
    /// `RENAME TABLE`. A `DROP INDEX` without `CONCURRENTLY` locks its index's table, which only a
    /// schema knows: see [`Stmt::locked_keys`].
    pub fn locked_tables(&self) -> Vec<&Name> {
        match self {
            Stmt::AlterTable { actions, .. }
                if !actions.is_empty() && actions.iter().all(|a| matches!(a, Action::ValidateConstraint { .. })) =>
            {
                Vec::new()
            }
            Stmt::AlterTable { table, .. } | Stmt::CreateIndex { table, concurrently: false, .. } => vec![table],
            Stmt::DropTable { names, .. } | Stmt::Truncate { names, .. } => names.iter().collect(),
            Stmt::RenameTable { from, .. } => vec![from],
            _ => Vec::new(),
        }
    }

    /// The keys of the tables of `schema` that the statement locks (see [`Stmt::locked_tables`]),
    /// including the table of an index dropped without `CONCURRENTLY`; tables `schema` does not
    /// hold are left out. Pass the schema at the start of a migration to get the existing tables.
    pub fn locked_keys(&self, schema: &Schema) -> Vec<String> {
        let mut keys: Vec<String> =
            self.locked_tables().into_iter().filter_map(|n| schema_table(schema, &n.key()).map(Table::key)).collect();
        if let Stmt::DropIndex { names, concurrently: false } = self {
            keys.extend(names.iter().filter_map(|n| index_table(schema, n)).map(Table::key));
        }
        let mut seen = std::collections::BTreeSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        keys
    }
}

/// The table of `schema` keyed `key` (SQLite and MySQL names are case-insensitive).
fn schema_table<'s>(schema: &'s Schema, key: &str) -> Option<&'s Table> {
    schema.tables.get(key).or_else(|| {
        (schema.dialect != Dialect::Postgres)
            .then(|| schema.tables.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, t)| t))
            .flatten()
    })
}

/// The table of `schema` that holds the index `index` names (as `DROP INDEX` writes it): on
/// PostgreSQL an index lives in its table's namespace; MySQL's `DROP INDEX i ON t` is classified
/// with the table as the name's namespace; SQLite index names are global.
pub fn index_table<'s>(schema: &'s Schema, index: &Name) -> Option<&'s Table> {
    let has = |t: &Table| {
        if schema.dialect == Dialect::Postgres {
            t.indexes.contains_key(&index.name)
        } else {
            t.indexes.keys().any(|k| k.eq_ignore_ascii_case(&index.name))
        }
    };
    match schema.dialect {
        Dialect::Postgres => schema.tables.values().find(|t| t.schema == index.schema && has(t)),
        Dialect::Mysql => match &index.schema {
            Some(table) => schema_table(schema, table).filter(|t| has(t)),
            None => schema.tables.values().find(|t| has(t)),
        },
        Dialect::Sqlite => schema.tables.values().find(|t| has(t)),
    }
}

/// The token range of `col`'s type in the enclosing statement, given the item's first token index.
fn col_type_tokens(col: &ColumnDef, shift: usize) -> Range<usize> {
    col.type_span.start + shift..col.type_span.end + shift
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::statements;

    fn one(sql: &str) -> Stmt {
        let sts = statements(sql, Dialect::Postgres);
        classify(&sts[0], Dialect::Postgres)
    }

    #[test]
    fn classifies_alter_table_actions_with_spans() {
        let sql = "ALTER TABLE ads ADD COLUMN slug varchar(20) NOT NULL DEFAULT '', ALTER COLUMN price SET NOT NULL;";
        let Stmt::AlterTable { table, actions } = one(sql) else { panic!("not an alter") };
        assert_eq!(table.name, "ads");
        let Action::AddColumn(col) = &actions[0] else { panic!("{actions:?}") };
        assert_eq!(col.name, "slug");
        assert_eq!(col.type_text, "varchar(20)");
        assert_eq!(&sql[col.type_span.clone()], "varchar(20)");
        assert!(col.not_null);
        assert_eq!(col.default.as_deref(), Some("''"));
        assert!(matches!(&actions[1], Action::SetNotNull { column, .. } if column == "price"));
        assert_eq!(&sql[actions[1].span()], "ALTER COLUMN price SET NOT NULL");
    }

    #[test]
    fn classifies_constraints_and_indexes() {
        let s = one("ALTER TABLE ads ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID");
        let Stmt::AlterTable { actions, .. } = s else { panic!() };
        assert!(matches!(
            &actions[0],
            Action::AddConstraint { not_valid: true, kind: ConstraintKind::ForeignKey { references, .. }, .. } if references == "users"
        ));
        let s = one("ALTER TABLE ads ADD CONSTRAINT u UNIQUE USING INDEX ads_slug_idx");
        let Stmt::AlterTable { actions, .. } = s else { panic!() };
        assert!(matches!(&actions[0], Action::AddConstraint { using_index: true, .. }));
        assert!(matches!(
            one("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON public.ads (slug)"),
            Stmt::CreateIndex { unique: true, concurrently: true, table, .. } if table.schema.is_none() && table.name == "ads"
        ));
        assert!(matches!(one("DROP INDEX CONCURRENTLY i"), Stmt::DropIndex { concurrently: true, .. }));
        assert!(matches!(one("TRUNCATE ads CASCADE"), Stmt::Truncate { cascade: true, .. }));
        assert!(
            matches!(one("SET lock_timeout = '2s'"), Stmt::Set { name, value } if name == "lock_timeout" && value == "2s")
        );
    }

    #[test]
    fn locked_keys_name_existing_tables_and_the_tables_of_dropped_indexes() {
        let mut i = crate::sql::Interpreter::new(Dialect::Postgres);
        i.apply_file(
            std::path::Path::new("m.sql"),
            "CREATE TABLE ads (id int, slug text);\nCREATE TABLE tags (id int);\nCREATE INDEX ads_slug_idx ON ads (slug);",
        );
        let schema = i.schema();
        assert_eq!(one("ALTER TABLE ads ADD COLUMN x int").locked_keys(schema), ["ads"]);
        assert_eq!(one("TRUNCATE ads, tags, nope, ads").locked_keys(schema), ["ads", "tags"]);
        assert_eq!(one("DROP INDEX ads_slug_idx").locked_keys(schema), ["ads"]);
        assert!(one("DROP INDEX CONCURRENTLY ads_slug_idx").locked_keys(schema).is_empty());
        assert!(one("CREATE INDEX CONCURRENTLY i ON ads (id)").locked_keys(schema).is_empty());
        assert!(one("ALTER TABLE ads VALIDATE CONSTRAINT c").locked_keys(schema).is_empty());
        assert_eq!(one("CREATE INDEX i ON public.ads (id)").locked_keys(schema), ["ads"]);
        assert!(one("ALTER TABLE other ADD COLUMN x int").locked_keys(schema).is_empty());
    }

    #[test]
    fn garbage_is_other() {
        assert!(matches!(one("ALTER TABLE"), Stmt::Other));
        assert!(matches!(one("CREATE INDEX ON"), Stmt::Other));
        assert!(matches!(one("((("), Stmt::Other));
    }
}
