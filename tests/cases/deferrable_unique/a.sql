CREATE TABLE t (id integer PRIMARY KEY, pos integer);
