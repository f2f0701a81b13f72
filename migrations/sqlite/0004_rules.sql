-- Rules (/api/v2/rules) and their configuration values (/api/v2/rules-configs,
-- sealed). Both are configuration: writes advance config_version.
CREATE TABLE rules (
    seq  INTEGER PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    doc  TEXT NOT NULL
);

CREATE TABLE rules_configs (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TRIGGER rules_insert_bumps_config AFTER INSERT ON rules BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER rules_update_bumps_config AFTER UPDATE ON rules BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER rules_delete_bumps_config AFTER DELETE ON rules BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER rules_configs_insert_bumps_config AFTER INSERT ON rules_configs BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER rules_configs_update_bumps_config AFTER UPDATE ON rules_configs BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER rules_configs_delete_bumps_config AFTER DELETE ON rules_configs BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
