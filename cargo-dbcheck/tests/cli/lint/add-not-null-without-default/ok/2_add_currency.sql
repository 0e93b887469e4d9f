SET lock_timeout = '5s';
ALTER TABLE ads ADD COLUMN currency text NOT NULL DEFAULT 'EUR';
