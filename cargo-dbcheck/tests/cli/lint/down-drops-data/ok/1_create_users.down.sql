SET lock_timeout = '5s';
CREATE TABLE users_rolled_back AS SELECT * FROM users;
DROP TABLE users;
