SET lock_timeout = '5s';
ALTER TABLE users ADD COLUMN tmp text;
ALTER TABLE users DROP COLUMN tmp;
