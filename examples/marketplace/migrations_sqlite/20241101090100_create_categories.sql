CREATE TABLE categories (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT,
    parent_id INTEGER REFERENCES categories (id) ON DELETE SET NULL
);
