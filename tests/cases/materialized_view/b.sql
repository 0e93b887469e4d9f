CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(100) NOT NULL
);
CREATE MATERIALIZED VIEW user_count AS SELECT count(*) AS n FROM users;
