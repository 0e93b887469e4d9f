//! MySQL/MariaDB introspection from `information_schema`: a fixed number of queries for the
//! current database. Unique constraints are read as unique indexes (MySQL makes no difference).

use std::collections::BTreeMap;

use super::{IntrospectOptions, literal_list, take};
use crate::db::{Db, DbError, Dialect};
use crate::schema::{
    CheckConstraint, Column, FkAction, ForeignKey, Function, Generated, Index, PrimaryKey, Schema, Table, Trigger,
    View, definition_hash, normalize_default, normalize_expression, normalize_type,
};

pub(super) async fn introspect(db: &mut Db, options: &IntrospectOptions) -> Result<Schema, DbError> {
    let d = Dialect::Mysql;
    let excluded = literal_list(d, &options.excluded());
    let mut schema = Schema::empty(d);
    let head = db.text_rows("SELECT DATABASE(), VERSION()".to_owned(), "reading the server version").await?;
    let (database, version) = match head.into_iter().next() {
        Some(mut r) => (take(&mut r, 0).unwrap_or_default(), take(&mut r, 1).unwrap_or_default()),
        None => (String::new(), String::new()),
    };
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    // Views print every name qualified with the database, which differs between a shadow copy
    // and the live database: strip it.
    let unqualify = |text: &str| text.replace(&format!("`{database}`."), "");

    // 1. Tables and views.
    let sql = format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN ({excluded}) ORDER BY TABLE_NAME"
    );
    for mut r in db.text_rows(sql, "reading tables").await? {
        let name = take(&mut r, 0).unwrap_or_default();
        if r[1].as_deref() == Some("BASE TABLE") {
            schema.tables.insert(name.clone(), Table::new(None, name));
        }
    }

    // 2. Columns.
    let sql = format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
         CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(EXTRA AS CHAR), \
         CAST(GENERATION_EXPRESSION AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN ({excluded}) ORDER BY TABLE_NAME, ORDINAL_POSITION"
    );
    for mut r in db.text_rows(sql, "reading columns").await? {
        let tname = take(&mut r, 0).unwrap_or_default();
        let Some(table) = schema.tables.get_mut(&tname) else { continue };
        let mut col =
            Column::new(take(&mut r, 1).unwrap_or_default(), normalize_type(d, r[2].as_deref().unwrap_or("")));
        col.nullable = r[3].as_deref() == Some("YES");
        let extra = r[5].as_deref().unwrap_or("").to_ascii_lowercase();
        col.auto_increment = extra.contains("auto_increment");
        if extra.contains("generated") && r[6].as_deref().is_some_and(|g| !g.is_empty()) {
            col.generated = Some(Generated {
                expression: normalize_expression(&unqualify(r[6].as_deref().unwrap_or(""))),
                stored: extra.contains("stored"),
            });
        } else {
            col.default = normalize_default(d, r[4].as_deref());
        }
        table.columns.push(col);
    }

    // 3. Primary and foreign keys with their columns and actions.
    let sql = format!(
        "SELECT CAST(k.TABLE_NAME AS CHAR), CAST(k.CONSTRAINT_NAME AS CHAR), CAST(k.COLUMN_NAME AS CHAR), \
         CAST(k.REFERENCED_TABLE_NAME AS CHAR), CAST(k.REFERENCED_COLUMN_NAME AS CHAR), \
         CAST(rc.UPDATE_RULE AS CHAR), CAST(rc.DELETE_RULE AS CHAR), CAST(tc.CONSTRAINT_TYPE AS CHAR) \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
           AND tc.TABLE_NAME = k.TABLE_NAME AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
           AND rc.TABLE_NAME = k.TABLE_NAME AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME NOT IN ({excluded}) \
           AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'FOREIGN KEY') \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
    );
    for mut r in db.text_rows(sql, "reading keys").await? {
        let tname = take(&mut r, 0).unwrap_or_default();
        let Some(table) = schema.tables.get_mut(&tname) else { continue };
        let name = take(&mut r, 1).unwrap_or_default();
        let column = take(&mut r, 2).unwrap_or_default();
        if r[7].as_deref() == Some("PRIMARY KEY") {
            table
                .primary_key
                .get_or_insert_with(|| PrimaryKey { name: Some(name), columns: Vec::new() })
                .columns
                .push(column);
            continue;
        }
        let fk = table.foreign_keys.entry(name).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            references: r[3].clone().unwrap_or_default(),
            referenced_columns: Vec::new(),
            on_update: FkAction::parse(r[5].as_deref().unwrap_or("")),
            on_delete: FkAction::parse(r[6].as_deref().unwrap_or("")),
            deferrable: false,
            initially_deferred: false,
            valid: true,
        });
        fk.columns.push(column);
        fk.referenced_columns.push(take(&mut r, 4).unwrap_or_default());
    }

    // 4. Checks (MariaDB names column-level checks after their column; both kinds are table checks).
    let sql = if mariadb {
        format!(
            "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), CAST(CHECK_CLAUSE AS CHAR) \
             FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() \
             AND TABLE_NAME NOT IN ({excluded}) ORDER BY 1, 2"
        )
    } else {
        format!(
            "SELECT CAST(tc.TABLE_NAME AS CHAR), CAST(cc.CONSTRAINT_NAME AS CHAR), CAST(cc.CHECK_CLAUSE AS CHAR) \
             FROM information_schema.CHECK_CONSTRAINTS cc JOIN information_schema.TABLE_CONSTRAINTS tc \
             ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME \
             AND tc.CONSTRAINT_TYPE = 'CHECK' WHERE cc.CONSTRAINT_SCHEMA = DATABASE() \
             AND tc.TABLE_NAME NOT IN ({excluded}) ORDER BY 1, 2"
        )
    };
    for mut r in db.text_rows(sql, "reading check constraints").await? {
        let tname = take(&mut r, 0).unwrap_or_default();
        let Some(table) = schema.tables.get_mut(&tname) else { continue };
        let name = take(&mut r, 1).unwrap_or_default();
        let expression = normalize_expression(&unqualify(r[2].as_deref().unwrap_or("")));
        table.checks.insert(name, CheckConstraint { expression, valid: true });
    }

    // 5. Indexes (the primary key's is the key itself).
    let sql = format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS CHAR), \
         CAST(COLUMN_NAME AS CHAR), CAST(SUB_PART AS CHAR), CAST(COLLATION AS CHAR), CAST(INDEX_TYPE AS CHAR) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY' \
         AND TABLE_NAME NOT IN ({excluded}) ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
    );
    for mut r in db.text_rows(sql, "reading indexes").await? {
        let tname = take(&mut r, 0).unwrap_or_default();
        let Some(table) = schema.tables.get_mut(&tname) else { continue };
        let name = take(&mut r, 1).unwrap_or_default();
        let method = r[6].as_deref().map(str::to_ascii_lowercase).filter(|m| m != "btree");
        let index = table.indexes.entry(name).or_insert_with(|| Index {
            columns: Vec::new(),
            include: Vec::new(),
            unique: r[2].as_deref() == Some("0"),
            method,
            predicate: None,
            valid: true,
        });
        let mut key = take(&mut r, 3).unwrap_or_default();
        if let Some(len) = take(&mut r, 4) {
            key = format!("{key}({len})");
        }
        if r[5].as_deref() == Some("D") {
            key.push_str(" DESC");
        }
        index.columns.push(key);
    }

    // 6. Views.
    let sql = "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR) FROM information_schema.VIEWS \
               WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"
        .to_owned();
    for mut r in db.text_rows(sql, "reading views").await? {
        let name = take(&mut r, 0).unwrap_or_default();
        let definition = normalize_expression(&unqualify(r[1].as_deref().unwrap_or("")));
        schema.views.insert(
            name.clone(),
            View { schema: None, name, materialized: false, definition_hash: definition_hash(&definition), definition },
        );
    }

    // 7. Triggers.
    let sql = format!(
        "SELECT CAST(TRIGGER_NAME AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR), CAST(ACTION_TIMING AS CHAR), \
         CAST(EVENT_MANIPULATION AS CHAR), CAST(ACTION_STATEMENT AS CHAR) FROM information_schema.TRIGGERS \
         WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE NOT IN ({excluded}) ORDER BY 2, 1"
    );
    for mut r in db.text_rows(sql, "reading triggers").await? {
        let name = take(&mut r, 0).unwrap_or_default();
        let table = take(&mut r, 1).unwrap_or_default();
        let definition = format!(
            "CREATE TRIGGER {} {} {} ON {} FOR EACH ROW {}",
            d.quote_ident(&name),
            r[2].as_deref().unwrap_or(""),
            r[3].as_deref().unwrap_or(""),
            d.quote_ident(&table),
            unqualify(r[4].as_deref().unwrap_or("")).trim()
        );
        schema.triggers.insert(
            format!("{table}.{name}"),
            Trigger { table, name, definition_hash: definition_hash(&definition), definition },
        );
    }

    // 8. Functions and procedures.
    let sql = "SELECT CAST(ROUTINE_NAME AS CHAR), CAST(ROUTINE_TYPE AS CHAR), CAST(ROUTINE_DEFINITION AS CHAR), \
               CAST(DTD_IDENTIFIER AS CHAR) FROM information_schema.ROUTINES \
               WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 1, 2"
        .to_owned();
    let mut functions = BTreeMap::new();
    for mut r in db.text_rows(sql, "reading routines").await? {
        let name = take(&mut r, 0).unwrap_or_default();
        let kind = r[1].as_deref().unwrap_or("FUNCTION").to_ascii_lowercase();
        let definition = format!(
            "{kind} {name} returns {}: {}",
            r[3].as_deref().unwrap_or("-"),
            unqualify(r[2].as_deref().unwrap_or(""))
        );
        functions.insert(
            format!("{name}()"),
            Function {
                schema: None,
                name,
                arguments: String::new(),
                kind,
                definition_hash: definition_hash(&definition),
                definition,
            },
        );
    }
    schema.functions = functions;
    Ok(schema)
}
