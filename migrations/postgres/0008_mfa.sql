-- Second factors: users' authenticators (TOTP secrets sealed in secret),
-- logins paused at the MFA gate (keyed by the hash of their mfa_token) and
-- each user's bucket of failed codes.
CREATE TABLE mfa_authenticators (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    secret  BYTEA,
    doc     JSONB NOT NULL
);
CREATE INDEX mfa_authenticators_user ON mfa_authenticators (user_id);

CREATE TABLE mfa_transactions (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    doc        JSONB NOT NULL
);
CREATE INDEX mfa_transactions_expires_at ON mfa_transactions (expires_at);

CREATE TABLE mfa_buckets (
    user_id TEXT PRIMARY KEY,
    doc     JSONB NOT NULL
);

-- A deleted user's factors go with it, whichever way it was deleted.
CREATE FUNCTION users_delete_mfa() RETURNS trigger AS $$
BEGIN
    DELETE FROM mfa_authenticators WHERE user_id = OLD.user_id;
    DELETE FROM mfa_buckets WHERE user_id = OLD.user_id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_delete_mfa AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_delete_mfa();
