-- SQLite cannot add NOT NULL or CHECK to an existing table: rebuild each table (create new,
-- copy, drop old, rename), the procedure SQLite's documentation prescribes.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE ads_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category_id INTEGER REFERENCES categories (id),
    title       TEXT NOT NULL CONSTRAINT ads_title_not_empty CHECK (trim(title) <> ''),
    price       NUMERIC(10, 2) CONSTRAINT ads_price_non_negative CHECK (price >= 0),
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    slug        TEXT NOT NULL CONSTRAINT ads_slug_not_empty CHECK (slug <> '')
);
INSERT INTO ads_new (id, user_id, category_id, title, price, created_at, slug)
    SELECT id, user_id, category_id, title, price, created_at, slug FROM ads;
DROP TABLE ads;
ALTER TABLE ads_new RENAME TO ads;
CREATE INDEX ads_user_id_idx ON ads (user_id);
CREATE UNIQUE INDEX ads_slug_key ON ads (slug);

CREATE TABLE categories_new (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL CONSTRAINT categories_name_not_empty CHECK (trim(name) <> ''),
    parent_id INTEGER REFERENCES categories (id) ON DELETE SET NULL
);
INSERT INTO categories_new (id, name, parent_id) SELECT id, name, parent_id FROM categories;
DROP TABLE categories;
ALTER TABLE categories_new RENAME TO categories;

CREATE TABLE ad_images_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ad_id      INTEGER NOT NULL REFERENCES ads (id) ON DELETE CASCADE,
    file_path  TEXT NOT NULL CONSTRAINT ad_images_path_not_empty CHECK (file_path <> ''),
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO ad_images_new (id, ad_id, file_path, is_primary, created_at)
    SELECT id, ad_id, file_path, is_primary, created_at FROM ad_images;
DROP TABLE ad_images;
ALTER TABLE ad_images_new RENAME TO ad_images;
CREATE INDEX ad_images_ad_id_idx ON ad_images (ad_id);
