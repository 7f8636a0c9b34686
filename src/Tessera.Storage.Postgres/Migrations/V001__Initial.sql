-- The first schema, the SQLite one's counterpart. Times are timestamptz holding whole milliseconds (the store
-- truncates on write, so that both stores keep the same precision); token hashes are bytea; enums are text with
-- CHECK constraints. Ids, emails and actions are compared and ordered byte by byte (COLLATE "C"), as .NET's
-- ordinal comparison does, whatever the database's locale.

-- User search folds case beyond ASCII with ICU (the "und-x-icu" collation), whatever the database's locale:
-- refuse a server that cannot, rather than answer searches wrongly later.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN
        RAISE EXCEPTION 'Tessera needs PostgreSQL built with ICU: the collation "und-x-icu" is missing';
    END IF;
    IF (SELECT encoding FROM pg_database WHERE datname = current_database()) <> pg_char_to_encoding('UTF8') THEN
        RAISE EXCEPTION 'Tessera needs a database in the UTF8 encoding; % is not', current_database();
    END IF;
END
$$;

CREATE TABLE users (
    id               text COLLATE "C" NOT NULL PRIMARY KEY,
    email            text COLLATE "C" NOT NULL,
    display_name     text             NOT NULL,
    password_hash    text             NULL,
    role             text             NOT NULL CHECK (role IN ('user', 'admin')),
    status           text             NOT NULL CHECK (status IN ('active', 'deactivated', 'deleted')),
    banned           boolean          NOT NULL,
    banned_until     timestamptz      NULL,
    ban_reason       text             NULL,
    security_version bigint           NOT NULL,
    created_at       timestamptz      NOT NULL,
    updated_at       timestamptz      NOT NULL
);

-- Also what INSERT ... ON CONFLICT (email) DO NOTHING relies on.
CREATE UNIQUE INDEX ux_users_email ON users (email);

-- The admin list filters by status and pages in creation order.
CREATE INDEX ix_users_status_created ON users (status, created_at, id);
CREATE INDEX ix_users_created ON users (created_at, id);

CREATE TABLE sessions (
    id                  text COLLATE "C" NOT NULL PRIMARY KEY,
    token_hash          bytea            NOT NULL CHECK (octet_length(token_hash) = 32),
    user_id             text COLLATE "C" NOT NULL REFERENCES users (id),
    device_name         text             NULL,
    device_platform     text             NOT NULL CHECK (device_platform IN ('web', 'desktop', 'mobile', 'cli', 'api')),
    device_os           text             NULL,
    device_browser      text             NULL,
    user_agent          text             NULL,
    ip_address          text             NULL,
    created_at          timestamptz      NOT NULL,
    last_active_at      timestamptz      NOT NULL,
    absolute_expires_at timestamptz      NOT NULL,
    revoked_at          timestamptz      NULL,
    revoked_by          text             NULL,
    revoke_reason       text             NULL
);

-- Every check that misses the cache looks a session up by the hash of its token.
CREATE UNIQUE INDEX ux_sessions_token_hash ON sessions (token_hash);

-- Listing and revoking a user's sessions only ever looks at the unrevoked ones.
CREATE INDEX ix_sessions_user_unrevoked ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE audit_events (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    at             timestamptz      NOT NULL,
    action         text COLLATE "C" NOT NULL,
    actor_kind     text             NOT NULL CHECK (actor_kind IN ('user', 'admin', 'system', 'cli')),
    actor_id       text COLLATE "C" NULL,
    target_user_id text COLLATE "C" NULL,
    session_ids    text[]           NOT NULL DEFAULT '{}'
                   CHECK (coalesce(array_ndims(session_ids), 1) = 1 AND array_position(session_ids, NULL) IS NULL),
    reason         text             NULL,
    ip_address     text             NULL
);

-- Queries filter by one of these and read newest first (at desc, id desc).
CREATE INDEX ix_audit_events_target_user_at ON audit_events (target_user_id, at DESC, id DESC);
CREATE INDEX ix_audit_events_actor_at ON audit_events (actor_id, at DESC, id DESC);
CREATE INDEX ix_audit_events_action_at ON audit_events (action, at DESC, id DESC);
CREATE INDEX ix_audit_events_at ON audit_events (at DESC, id DESC);

CREATE TABLE password_reset_tokens (
    token_hash bytea            NOT NULL PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id),
    created_at timestamptz      NOT NULL,
    expires_at timestamptz      NOT NULL,
    used_at    timestamptz      NULL
);

CREATE INDEX ix_password_reset_tokens_user_unused ON password_reset_tokens (user_id) WHERE used_at IS NULL;
