-- The first schema. All timestamps are INTEGER unix milliseconds (UTC); tables are STRICT so that a value of
-- the wrong type is refused instead of stored.

CREATE TABLE users (
    id               TEXT    NOT NULL PRIMARY KEY,
    email            TEXT    NOT NULL,
    display_name     TEXT    NOT NULL,
    password_hash    TEXT    NULL,
    role             TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    status           TEXT    NOT NULL CHECK (status IN ('active', 'deactivated', 'deleted')),
    banned           INTEGER NOT NULL CHECK (banned IN (0, 1)),
    banned_until     INTEGER NULL,
    ban_reason       TEXT    NULL,
    security_version INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX ux_users_email ON users (email);

-- The admin list filters by status and pages in creation order.
CREATE INDEX ix_users_status_created ON users (status, created_at, id);
CREATE INDEX ix_users_created ON users (created_at, id);

CREATE TABLE sessions (
    id                  TEXT    NOT NULL PRIMARY KEY,
    token_hash          BLOB    NOT NULL CHECK (length(token_hash) = 32),
    user_id             TEXT    NOT NULL REFERENCES users (id),
    device_name         TEXT    NULL,
    device_platform     TEXT    NOT NULL CHECK (device_platform IN ('web', 'desktop', 'mobile', 'cli', 'api')),
    device_os           TEXT    NULL,
    device_browser      TEXT    NULL,
    user_agent          TEXT    NULL,
    ip_address          TEXT    NULL,
    created_at          INTEGER NOT NULL,
    last_active_at      INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    revoked_at          INTEGER NULL,
    revoked_by          TEXT    NULL,
    revoke_reason       TEXT    NULL
) STRICT;

-- Every check that misses the cache looks a session up by the hash of its token.
CREATE UNIQUE INDEX ux_sessions_token_hash ON sessions (token_hash);

-- Listing and revoking a user's sessions only ever looks at the unrevoked ones.
CREATE INDEX ix_sessions_user_unrevoked ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE audit_events (
    id             TEXT    NOT NULL PRIMARY KEY,
    at             INTEGER NOT NULL,
    action         TEXT    NOT NULL,
    actor_kind     TEXT    NOT NULL CHECK (actor_kind IN ('user', 'admin', 'system', 'cli')),
    actor_id       TEXT    NULL,
    target_user_id TEXT    NULL,
    session_ids    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(session_ids) AND json_type(session_ids) = 'array'),
    reason         TEXT    NULL,
    ip_address     TEXT    NULL
) STRICT;

-- Queries filter by one of these and read newest first (at desc, id desc).
CREATE INDEX ix_audit_events_target_user_at ON audit_events (target_user_id, at, id);
CREATE INDEX ix_audit_events_actor_at ON audit_events (actor_id, at, id);
CREATE INDEX ix_audit_events_action_at ON audit_events (action, at, id);
CREATE INDEX ix_audit_events_at ON audit_events (at, id);

CREATE TABLE password_reset_tokens (
    token_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    TEXT    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX ix_password_reset_tokens_user_unused ON password_reset_tokens (user_id) WHERE used_at IS NULL;
