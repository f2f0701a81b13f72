-- Second factors: users' authenticators (TOTP secrets sealed in secret),
-- logins paused at the MFA gate (keyed by the hash of their mfa_token) and
-- each user's bucket of failed codes.
CREATE TABLE mfa_authenticators (
    seq     INTEGER PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    secret  BLOB,
    doc     TEXT NOT NULL
);
CREATE INDEX mfa_authenticators_user ON mfa_authenticators (user_id);

CREATE TABLE mfa_transactions (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX mfa_transactions_expires_at ON mfa_transactions (expires_at);

CREATE TABLE mfa_buckets (
    user_id TEXT PRIMARY KEY,
    doc     TEXT NOT NULL
);

-- A deleted user's factors go with it, whichever way it was deleted.
CREATE TRIGGER users_delete_mfa AFTER DELETE ON users BEGIN
    DELETE FROM mfa_authenticators WHERE user_id = old.user_id;
    DELETE FROM mfa_buckets WHERE user_id = old.user_id;
END;
