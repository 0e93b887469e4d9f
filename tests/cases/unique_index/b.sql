CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(100) NOT NULL
);
CREATE UNIQUE INDEX users_email_uq ON users (email);
