-- Sign-in through a service client (issue 10): a relying app's own sign-in form calls POST /v1/auth/login with its
-- client's credentials and the visitor's address and user agent. The session records the client it was created through;
-- other clients may then learn only that it holds, and may not end it. NULL for sessions made directly, which every
-- session before this migration was. Clients are never deleted (only disabled), so the reference always resolves.
-- Not in the change_log trigger's list: the column is written once, at insert, like the device.
ALTER TABLE sessions ADD COLUMN client_id TEXT NULL REFERENCES service_clients (id);
