SET lock_timeout = '5s';
ALTER TABLE users RENAME COLUMN name TO display_name;
