-- Each aggregate is a row of key and unique columns plus doc, the record as
-- JSON. seq (the rowid) orders lists by insertion. Secrets live only in their
-- own columns, sealed; lower-cased copies of user emails and usernames back
-- the case-insensitive lookups and uniqueness rules.

CREATE TABLE clients (
    seq       INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    secret    BLOB,
    doc       TEXT NOT NULL
);

CREATE TABLE client_grants (
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    audience  TEXT NOT NULL,
    doc       TEXT NOT NULL,
    UNIQUE (client_id, audience)
);
CREATE INDEX client_grants_audience ON client_grants (audience);

CREATE TABLE resource_servers (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    identifier TEXT NOT NULL UNIQUE,
    secret     BLOB,
    doc        TEXT NOT NULL
);

CREATE TABLE connections (
    seq      INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL UNIQUE,
    strategy TEXT NOT NULL,
    doc      TEXT NOT NULL
);
CREATE INDEX connections_strategy ON connections (strategy);

CREATE TABLE users (
    seq             INTEGER PRIMARY KEY,
    user_id         TEXT NOT NULL UNIQUE,
    connection_id   TEXT NOT NULL,
    connection_name TEXT NOT NULL,
    email_lower     TEXT,
    username_lower  TEXT,
    password_hash   TEXT NOT NULL,
    doc             TEXT NOT NULL,
    UNIQUE (connection_id, email_lower),
    UNIQUE (connection_id, username_lower)
);
CREATE INDEX users_connection_name ON users (connection_name);
CREATE INDEX users_email_lower ON users (email_lower);

CREATE TABLE refresh_families (
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    user_id   TEXT NOT NULL,
    client_id TEXT NOT NULL,
    audience  TEXT NOT NULL,
    doc       TEXT NOT NULL
);
CREATE INDEX refresh_families_user_client ON refresh_families (user_id, client_id);

CREATE TABLE signing_keys (
    seq         INTEGER PRIMARY KEY,
    kid         TEXT NOT NULL UNIQUE,
    private_key BLOB NOT NULL,
    doc         TEXT NOT NULL
);

-- One row, present from the start, so updates always have a row to lock.
CREATE TABLE tenant_settings (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    doc TEXT NOT NULL
);
INSERT INTO tenant_settings (id, doc) VALUES (1, '{}');

-- expires_at is Unix microseconds.
CREATE TABLE nonces (
    key        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);
