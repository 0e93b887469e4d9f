CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(100) NOT NULL
);
CREATE INDEX users_email_incl ON users (email) INCLUDE (id);
