CREATE TABLE users (id integer NOT NULL, tenant integer NOT NULL, CONSTRAINT users_pkey PRIMARY KEY (id), CONSTRAINT users_id_tenant_key UNIQUE (id, tenant));
CREATE TABLE posts (id integer PRIMARY KEY, user_id integer, CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id));
