CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(100) NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
