-- The schema the marketplace's code is written against (SQLite), declared once. The build script
-- (`dbcheck::build`) fails the build when the migrations in migrations_sqlite/ stop producing
-- exactly these tables, columns, types, nullability and primary keys.
CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    email        TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Nullable on SQLite: the contract step cannot add NOT NULL without a table rebuild.
    display_name TEXT
);

CREATE TABLE categories (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL,
    parent_id INTEGER
);

CREATE TABLE ads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL,
    category_id INTEGER,
    title       TEXT NOT NULL,
    price       NUMERIC(10, 2),
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    slug        TEXT NOT NULL
);

CREATE TABLE ad_images (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ad_id      INTEGER NOT NULL,
    file_path  TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
