-- Categories form a tree; the homepage lists the top level by name.
CREATE TABLE categories (
    id        SERIAL PRIMARY KEY,
    name      TEXT,
    parent_id INTEGER REFERENCES categories (id) ON DELETE SET NULL
);
