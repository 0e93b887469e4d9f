CREATE TABLE t (id integer PRIMARY KEY, display_name varchar(50));
