-- Rename users.name to users.display_name, step 1 of 2 (expand).
ALTER TABLE users ADD COLUMN display_name TEXT;
UPDATE users
SET display_name = coalesce(name, substr(email, 1, instr(email, '@') - 1))
WHERE display_name IS NULL;
