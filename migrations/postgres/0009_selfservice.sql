-- Self-service: single-use tickets (password change, email verification)
-- keyed by the hash of their secret, the passwordless code last sent to
-- each address or number (its hash and wrong tries), and the rate buckets
-- of self-service requests per user and IP.
CREATE TABLE tickets (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    doc        JSONB NOT NULL
);
CREATE INDEX tickets_expires_at ON tickets (expires_at);
CREATE INDEX tickets_user ON tickets (user_id);

CREATE TABLE passwordless_codes (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    doc        JSONB NOT NULL
);
CREATE INDEX passwordless_codes_expires_at ON passwordless_codes (expires_at);

CREATE TABLE rate_buckets (
    key        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    doc        JSONB NOT NULL
);
CREATE INDEX rate_buckets_expires_at ON rate_buckets (expires_at);

-- A deleted user's tickets go with it.
CREATE FUNCTION users_delete_tickets() RETURNS trigger AS $$
BEGIN
    DELETE FROM tickets WHERE user_id = OLD.user_id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_delete_tickets AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_delete_tickets();
