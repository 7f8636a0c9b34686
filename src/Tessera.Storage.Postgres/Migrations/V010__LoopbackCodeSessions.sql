-- The session a loopback code's exchange made (RFC 6749 section 4.1.2: a code used twice is denied, and what it gave is
-- revoked). Set in the exchange's write; a replay of the code ends that session. NULL while the code is unused, and for
-- a code whose exchange made none (a wrong verifier, a refused account). No foreign key: ended sessions are purged on
-- their own schedule (and may be deleted by hand), and a code row only needs to remember which session to end.
ALTER TABLE external_loopback_codes ADD COLUMN session_id text COLLATE "C" NULL;
