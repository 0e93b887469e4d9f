CREATE TABLE t (id integer NOT NULL, name varchar(50));
