-- Rename users.name to users.display_name, step 1 of 2 (expand): add the new column and copy.
-- The application writes both columns until the contract step ships.
ALTER TABLE users ADD COLUMN display_name TEXT;
UPDATE users SET display_name = coalesce(name, split_part(email, '@', 1)) WHERE display_name IS NULL;
