-- Changes written straight into the tables (an operator's UPDATE, a script) must reach every node's cache at once,
-- just like the ones Tessera makes. The triggers below NOTIFY on the channel 'tessera_changes'; every node LISTENs
-- (PostgresChangeListener) and drops what it holds. A notification is delivered when its transaction commits, and
-- only then; identical ones from one transaction are delivered once.
--
-- Payloads (JSON):
--   {"table": "users",    "userId": "usr_..."}
--   {"table": "sessions", "userId": "usr_...", "sessionId": "ses_...", "reason": "revoked_by_admin" | null}
--   {"table": "users" | "sessions", "all": true}          (TRUNCATE: drop everything)

-- 1. A change to who may get in is a new security version, whoever writes it.
--    Tessera moves security_version itself with every decision; a writer that changes status, ban, password or role
--    without moving it (an operator's UPDATE users SET status = 'deactivated') gets it moved here, so that a copy
--    of the user read before the change is never taken for the current one.
--    Tessera's own writes set tessera.writer for their transaction and are left exactly as written: the store
--    contract is that an update writes every field as given (a password rehash at login keeps the version).
CREATE FUNCTION tessera_users_bump_security_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.security_version = OLD.security_version
       AND (NEW.status, NEW.banned, NEW.banned_until, NEW.password_hash, NEW.role)
           IS DISTINCT FROM (OLD.status, OLD.banned, OLD.banned_until, OLD.password_hash, OLD.role)
       AND coalesce(current_setting('tessera.writer', true), '') <> 'on' THEN
        NEW.security_version := OLD.security_version + 1;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_bump_security_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION tessera_users_bump_security_version();

-- 2. Users: every insert, delete, and update that changes anything.
CREATE FUNCTION tessera_notify_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('tessera_changes', json_build_object('table', 'users', 'userId', OLD.id)::text);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id) THEN
        PERFORM pg_notify('tessera_changes', json_build_object('table', 'users', 'userId', NEW.id)::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_notify_insert_delete AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tessera_notify_users();

CREATE TRIGGER users_notify_update AFTER UPDATE ON users
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION tessera_notify_users();

-- 3. Sessions: an update that changes whether or how the session holds (revocation, expiry, owner, token), and a
--    delete. Not the frequent last_active_at-only updates: a node keeps the latest activity in memory anyway.
CREATE FUNCTION tessera_notify_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    reason text := CASE WHEN TG_OP = 'UPDATE' THEN NEW.revoke_reason END;
BEGIN
    PERFORM pg_notify('tessera_changes', json_build_object(
        'table', 'sessions', 'userId', OLD.user_id, 'sessionId', OLD.id, 'reason', reason)::text);
    IF TG_OP = 'UPDATE' AND (NEW.id, NEW.user_id) IS DISTINCT FROM (OLD.id, OLD.user_id) THEN
        PERFORM pg_notify('tessera_changes', json_build_object(
            'table', 'sessions', 'userId', NEW.user_id, 'sessionId', NEW.id, 'reason', reason)::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_notify_update AFTER UPDATE ON sessions
    FOR EACH ROW
    WHEN ((OLD.id, OLD.token_hash, OLD.user_id, OLD.absolute_expires_at, OLD.revoked_at, OLD.revoke_reason)
          IS DISTINCT FROM (NEW.id, NEW.token_hash, NEW.user_id, NEW.absolute_expires_at, NEW.revoked_at, NEW.revoke_reason))
    EXECUTE FUNCTION tessera_notify_sessions();

CREATE TRIGGER sessions_notify_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION tessera_notify_sessions();

-- 4. TRUNCATE, which row triggers do not see: every node drops everything it holds.
CREATE FUNCTION tessera_notify_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_changes', json_build_object('table', TG_TABLE_NAME, 'all', true)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_notify_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_truncate();

CREATE TRIGGER sessions_notify_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_truncate();
