-- The tenant's own email texts (the Management API's /email-templates),
-- one row per template name.
CREATE TABLE email_templates (
    seq  INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    doc  TEXT NOT NULL
);
