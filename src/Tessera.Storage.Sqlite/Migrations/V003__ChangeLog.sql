-- Changes written straight into the file (an operator's sqlite3 console, a migration script, another tool) must reach
-- the node's cache and its open event streams at once, just like the ones Tessera makes. SQLite has no NOTIFY: the
-- triggers below record which user or session changed in change_log, in the same transaction as the change, so a
-- row is there exactly when the change is committed. SqliteChangeWatcher reads the rows after the last id it applied
-- and invalidates them; Tessera's own writes produce rows too, which it applies a second time, harmlessly.
--
-- Ids come from AUTOINCREMENT: never reused, even after trimming, and without gaps between committed rows (a rolled
-- back insert rolls back its sequence too). A watcher that finds the next row it expects gone knows it missed some.
-- at (unix seconds) lets the watcher trim rows old enough that no reader can still be behind them.
-- The trigger SQL runs in whatever SQLite the writer links (the sqlite3 shell too), so it keeps to old features.

CREATE TABLE change_log (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    user_id    TEXT    NOT NULL,
    session_id TEXT    NULL,
    reason     TEXT    NULL
) STRICT;

-- Users: every insert, delete, and update that changes anything.
CREATE TRIGGER users_log_insert AFTER INSERT ON users
BEGIN
    INSERT INTO change_log (user_id) VALUES (NEW.id);
END;

CREATE TRIGGER users_log_delete AFTER DELETE ON users
BEGIN
    INSERT INTO change_log (user_id) VALUES (OLD.id);
END;

CREATE TRIGGER users_log_update AFTER UPDATE ON users
    WHEN (OLD.id, OLD.email, OLD.display_name, OLD.password_hash, OLD.role, OLD.status, OLD.banned, OLD.banned_until,
          OLD.ban_reason, OLD.security_version, OLD.created_at, OLD.updated_at)
      IS NOT (NEW.id, NEW.email, NEW.display_name, NEW.password_hash, NEW.role, NEW.status, NEW.banned, NEW.banned_until,
              NEW.ban_reason, NEW.security_version, NEW.created_at, NEW.updated_at)
BEGIN
    INSERT INTO change_log (user_id) VALUES (OLD.id);
    INSERT INTO change_log (user_id) SELECT NEW.id WHERE NEW.id IS NOT OLD.id;
END;

-- Sessions: an update that changes whether or how the session holds (revocation, expiry, owner, token), and a
-- delete. Not the frequent last_active_at-only updates of the write-behind: the node keeps the latest activity in
-- memory anyway. Not inserts either: no node can hold a copy of a session that did not exist.
CREATE TRIGGER sessions_log_update AFTER UPDATE ON sessions
    WHEN (OLD.id, OLD.token_hash, OLD.user_id, OLD.absolute_expires_at, OLD.revoked_at, OLD.revoke_reason)
      IS NOT (NEW.id, NEW.token_hash, NEW.user_id, NEW.absolute_expires_at, NEW.revoked_at, NEW.revoke_reason)
BEGIN
    INSERT INTO change_log (user_id, session_id, reason) VALUES (OLD.user_id, OLD.id, NEW.revoke_reason);
    INSERT INTO change_log (user_id, session_id, reason)
        SELECT NEW.user_id, NEW.id, NEW.revoke_reason WHERE (NEW.id, NEW.user_id) IS NOT (OLD.id, OLD.user_id);
END;

CREATE TRIGGER sessions_log_delete AFTER DELETE ON sessions
BEGIN
    INSERT INTO change_log (user_id, session_id) VALUES (OLD.user_id, OLD.id);
END;
