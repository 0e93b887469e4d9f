CREATE TABLE categories (id integer PRIMARY KEY, parent_id integer, CONSTRAINT categories_parent_fk FOREIGN KEY (parent_id) REFERENCES categories (id) ON DELETE SET NULL);
