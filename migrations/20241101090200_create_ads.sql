CREATE TABLE ads (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category_id INTEGER REFERENCES categories (id),
    title       TEXT,
    price       NUMERIC(10, 2),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX ads_user_id_idx ON ads (user_id);
