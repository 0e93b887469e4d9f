SET lock_timeout = '5s';
ALTER TABLE ads RENAME TO listings;
