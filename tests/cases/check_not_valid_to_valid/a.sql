CREATE TABLE t (id integer PRIMARY KEY, price integer);
ALTER TABLE t ADD CONSTRAINT t_price_check CHECK (price > 0) NOT VALID;
