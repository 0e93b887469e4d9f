CREATE TABLE t (id integer PRIMARY KEY, price integer, CONSTRAINT t_price_positive CHECK (price > 0));
