-- The tenant's log: one row per Auth0 log event. log_id sorts as text in
-- write order (see store.LogEvent), byte-wise whatever the database's
-- collation; date is the event's time in Unix microseconds. The filters
-- the Management API offers have an index each.
CREATE TABLE logs (
    log_id    TEXT COLLATE "C" PRIMARY KEY,
    date      BIGINT NOT NULL,
    type      TEXT NOT NULL,
    user_id   TEXT NOT NULL DEFAULT '',
    client_id TEXT NOT NULL DEFAULT '',
    doc       JSONB NOT NULL
);
CREATE INDEX logs_date ON logs (date, log_id);
CREATE INDEX logs_user_date ON logs (user_id, date);
CREATE INDEX logs_type_date ON logs (type, date);
