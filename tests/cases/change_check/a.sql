CREATE TABLE t (id integer PRIMARY KEY, price integer, CONSTRAINT t_price_check CHECK (price > 0));
