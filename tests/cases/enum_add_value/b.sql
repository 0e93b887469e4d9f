CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ecstatic');
CREATE TABLE t (id integer PRIMARY KEY, feeling mood);
