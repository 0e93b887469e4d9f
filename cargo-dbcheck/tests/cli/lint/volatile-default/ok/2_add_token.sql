ALTER TABLE ads ADD COLUMN token uuid;
ALTER TABLE ads ALTER COLUMN token SET DEFAULT gen_random_uuid();
