CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(100) NOT NULL
);
CREATE VIEW user_emails AS SELECT id, email FROM users WHERE id > 10;
