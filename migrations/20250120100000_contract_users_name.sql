-- Rename users.name to users.display_name, step 2 of 2 (contract), shipped after every reader
-- moved to display_name.
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
ALTER TABLE users DROP COLUMN name;
