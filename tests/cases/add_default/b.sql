CREATE TABLE t (id integer PRIMARY KEY, status varchar(20) DEFAULT 'new');
