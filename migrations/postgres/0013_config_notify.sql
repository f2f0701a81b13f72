-- Every configuration write also announces itself on the gatehouse_config
-- channel, from inside the writing transaction, so the notice goes out only
-- when the write commits. The payload is "<version> <node>": the version the
-- write produced and the writing node's id (the gatehouse.node setting each
-- node gives its connections; empty for other writers). Nodes LISTEN on the
-- channel and drop their caches of the configuration and keys at once,
-- instead of waiting for their next poll of config_version.
CREATE OR REPLACE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v BIGINT;
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version INTO v;
    PERFORM pg_notify('gatehouse_config', v::text || ' ' || coalesce(current_setting('gatehouse.node', true), ''));
    RETURN NULL;
END;
$$;
