CREATE TABLE t (id integer PRIMARY KEY, tags text[] NOT NULL DEFAULT '{}', scores integer[]);
