SET LOCAL lock_timeout = '5s';
ALTER TABLE ads ADD COLUMN note text;
ALTER TABLE categories ADD COLUMN note text;
