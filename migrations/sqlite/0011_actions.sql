-- Actions (/api/v2/actions/actions), their deployed versions and the
-- triggers' bindings. Secret values are sealed inside the documents. All of
-- it is configuration: writes advance config_version.
CREATE TABLE actions (
    seq  INTEGER PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    doc  TEXT NOT NULL
);

CREATE TABLE action_versions (
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    action_id TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    number    INTEGER NOT NULL,
    doc       TEXT NOT NULL,
    UNIQUE (action_id, number)
);

CREATE TABLE action_bindings (
    trigger_id TEXT NOT NULL,
    position   INTEGER NOT NULL,
    id         TEXT NOT NULL UNIQUE,
    action_id  TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    doc        TEXT NOT NULL,
    PRIMARY KEY (trigger_id, position)
);

CREATE TRIGGER actions_insert_bumps_config AFTER INSERT ON actions BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER actions_update_bumps_config AFTER UPDATE ON actions BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER actions_delete_bumps_config AFTER DELETE ON actions BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER action_versions_insert_bumps_config AFTER INSERT ON action_versions BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER action_versions_delete_bumps_config AFTER DELETE ON action_versions BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER action_bindings_insert_bumps_config AFTER INSERT ON action_bindings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER action_bindings_update_bumps_config AFTER UPDATE ON action_bindings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER action_bindings_delete_bumps_config AFTER DELETE ON action_bindings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
