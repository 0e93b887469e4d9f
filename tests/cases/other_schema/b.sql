CREATE SCHEMA IF NOT EXISTS audit;
CREATE TYPE audit.level AS ENUM ('info', 'warn');
CREATE TABLE audit.events (id integer PRIMARY KEY, level audit.level NOT NULL, at timestamptz DEFAULT now());
CREATE INDEX events_at_idx ON audit.events (at);
