SET lock_timeout = '5s';
ALTER TABLE ads ADD COLUMN slug varchar(80);
