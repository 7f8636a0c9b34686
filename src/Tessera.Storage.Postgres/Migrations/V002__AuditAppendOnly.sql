-- The audit log is append-only: the database itself refuses to change or remove an event, whoever asks
-- (TRUNCATE included, which row triggers do not see).
-- (A retention job, if one is ever wanted, will come with a migration that says so.)

CREATE FUNCTION tessera_audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER audit_events_refuse_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION tessera_audit_events_refuse_change();

CREATE TRIGGER audit_events_refuse_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_audit_events_refuse_change();
