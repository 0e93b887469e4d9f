SET lock_timeout = '5s';
-- Expand: add the new column and copy; the old one is dropped in a later release.
ALTER TABLE users ADD COLUMN display_name text;
UPDATE users SET display_name = name WHERE display_name IS NULL;
