SET LOCAL lock_timeout = '5s';
ALTER TABLE ads ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();
