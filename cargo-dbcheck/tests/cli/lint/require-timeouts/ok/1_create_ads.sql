CREATE TABLE ads (id bigint PRIMARY KEY, title text);
