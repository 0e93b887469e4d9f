CREATE TABLE users (id integer NOT NULL, tenant integer NOT NULL, CONSTRAINT users_pkey PRIMARY KEY (id, tenant), CONSTRAINT users_id_key UNIQUE (id));
CREATE TABLE posts (id integer PRIMARY KEY, user_id integer, CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id));
