SET lock_timeout = '5s';
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM users WHERE bio IS NOT NULL) THEN
    RAISE EXCEPTION 'users.bio has data: archive it before rolling back';
  END IF;
END $$;
ALTER TABLE users DROP COLUMN bio;
