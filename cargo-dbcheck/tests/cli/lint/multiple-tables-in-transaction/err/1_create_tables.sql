CREATE TABLE ads (id bigint PRIMARY KEY, title text);
CREATE TABLE categories (id bigint PRIMARY KEY, name text);
