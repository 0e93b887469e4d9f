-- Rename users.name to users.display_name, step 2 of 2 (contract). SQLite 3.35+ drops columns.
ALTER TABLE users DROP COLUMN name;
