-- The audit log is append-only: the application never updates or deletes a row, and the
-- database refuses to, so a mistake in code cannot rewrite history. (A superuser can still
-- disable the trigger; the hash chain is what detects that kind of tampering.)
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = '42501';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
