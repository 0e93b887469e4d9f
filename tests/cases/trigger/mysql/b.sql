CREATE TABLE users (id integer PRIMARY KEY, email varchar(100) NOT NULL);
CREATE TRIGGER users_lower_email BEFORE INSERT ON users FOR EACH ROW SET NEW.email = lower(NEW.email);
