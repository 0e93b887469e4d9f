ALTER TABLE categories ADD COLUMN note text;
