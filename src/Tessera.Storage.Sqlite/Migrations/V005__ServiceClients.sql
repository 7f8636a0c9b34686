-- Service clients (issue 10): the apps that introspect and revoke sessions at /oauth2. Secrets are kept only as their
-- SHA-256; after a rotation the previous one works until previous_secret_expires_at. Scopes are a space-separated list
-- of the scope names (introspect, revocations, revoke), as OAuth writes them.
CREATE TABLE service_clients (
    id                         TEXT    NOT NULL PRIMARY KEY,
    name                       TEXT    NOT NULL,
    scopes                     TEXT    NOT NULL,
    created_at                 INTEGER NOT NULL,
    created_by                 TEXT    NOT NULL,
    secret_hash                BLOB    NOT NULL CHECK (length(secret_hash) = 32),
    previous_secret_hash       BLOB    NULL CHECK (previous_secret_hash IS NULL OR length(previous_secret_hash) = 32),
    previous_secret_expires_at INTEGER NULL,
    rotated_at                 INTEGER NULL,
    disabled_at                INTEGER NULL
) STRICT;

CREATE INDEX ix_service_clients_created ON service_clients (created_at, id);

-- A client ends sessions (POST /oauth2/revoke) and is named as the actor of their session.revoked events: the actor
-- kinds gain 'client'. SQLite cannot change a CHECK constraint, so the table is rebuilt with its rows, indexes and
-- append-only triggers (DROP TABLE removes rows without firing triggers; nothing references audit_events).
CREATE TABLE audit_events_new (
    id             TEXT    NOT NULL PRIMARY KEY,
    at             INTEGER NOT NULL,
    action         TEXT    NOT NULL,
    actor_kind     TEXT    NOT NULL CHECK (actor_kind IN ('user', 'admin', 'system', 'cli', 'client')),
    actor_id       TEXT    NULL,
    target_user_id TEXT    NULL,
    session_ids    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(session_ids) AND json_type(session_ids) = 'array'),
    reason         TEXT    NULL,
    ip_address     TEXT    NULL
) STRICT;

INSERT INTO audit_events_new (id, at, action, actor_kind, actor_id, target_user_id, session_ids, reason, ip_address)
SELECT id, at, action, actor_kind, actor_id, target_user_id, session_ids, reason, ip_address FROM audit_events;

DROP TABLE audit_events;

ALTER TABLE audit_events_new RENAME TO audit_events;

CREATE INDEX ix_audit_events_target_user_at ON audit_events (target_user_id, at, id);
CREATE INDEX ix_audit_events_actor_at ON audit_events (actor_id, at, id);
CREATE INDEX ix_audit_events_action_at ON audit_events (action, at, id);
CREATE INDEX ix_audit_events_at ON audit_events (at, id);

CREATE TRIGGER audit_events_refuse_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_refuse_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
