ALTER TABLE ads ADD COLUMN note text;
