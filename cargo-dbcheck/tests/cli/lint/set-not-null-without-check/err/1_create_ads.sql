CREATE TABLE ads (id bigint PRIMARY KEY, slug text);
