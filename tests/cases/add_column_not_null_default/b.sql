CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(100) NOT NULL,
    score integer NOT NULL DEFAULT 0
);
