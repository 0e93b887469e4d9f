CREATE TABLE ads (id bigint PRIMARY KEY, price integer, title varchar(100));
