CREATE TABLE t (id integer PRIMARY KEY, price integer, doubled integer GENERATED ALWAYS AS (price * 2) STORED);
