-- Attack protection's shared counters (brute force, same-user logins,
-- suspicious IPs): one bucket per (kind, key) under the generic cell rate
-- algorithm. empty_at is when the bucket has drained to nothing (its
-- "theoretical arrival time"); times are Unix microseconds. Each take is
-- one upsert, so every node sees the same count.
CREATE TABLE attack_counters (
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    empty_at    BIGINT NOT NULL,
    interval_us BIGINT NOT NULL,
    burst       INTEGER NOT NULL,
    cost        INTEGER NOT NULL,
    expire_us   BIGINT NOT NULL,
    touched_at  BIGINT NOT NULL,
    taken       INTEGER NOT NULL,
    connection  TEXT NOT NULL DEFAULT '',
    identifier  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kind, key)
);
CREATE INDEX attack_counters_identifier ON attack_counters (kind, identifier);
CREATE INDEX attack_counters_empty_at ON attack_counters (empty_at);
