SET LOCAL lock_timeout = '5s';
ALTER TABLE ads ADD CONSTRAINT ads_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE ads VALIDATE CONSTRAINT ads_user_fk;
