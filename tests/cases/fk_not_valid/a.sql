CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(100) NOT NULL
);
CREATE TABLE posts (
    id integer PRIMARY KEY,
    user_id integer NOT NULL,
    title varchar(100)
);
