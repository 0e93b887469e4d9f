CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE ads (id bigint PRIMARY KEY, user_id bigint);
