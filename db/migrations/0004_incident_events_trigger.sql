-- The incident change log (incident_events) is fed by the database itself, so every writer of
-- incidents (the ingest, the offline sweeper, the acknowledge route, a hand-run UPDATE) feeds it
-- without having to remember to.
--
-- Kinds from the row change: INSERT -> opened (and closed too when the row arrives already closed,
-- e.g. detected and cleared in one batch); UPDATE setting closed_at -> closed; setting
-- acknowledged_at -> acknowledged; any other change -> updated; an UPDATE that changes nothing -> none.
--
-- Why a DEFERRED constraint trigger under one advisory lock: readers poll `id > cursor`. With a
-- plain AFTER trigger a transaction could take id 10, another id 11 and commit first; a reader that
-- saw 11 would move its cursor past 10 and never deliver it. Run at commit, under a transaction
-- advisory lock held until the commit is visible, ids are handed out in commit order: whoever sees
-- id N also sees every id below it. The lock covers only the last instant of a transaction that
-- changed incidents (nothing else is locked after it, so it cannot deadlock).
CREATE FUNCTION incident_events_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kinds incident_event_kind[] := ARRAY[]::incident_event_kind[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    kinds := ARRAY['opened']::incident_event_kind[];
    IF NEW.closed_at IS NOT NULL THEN
      kinds := kinds || 'closed'::incident_event_kind;
    END IF;
  ELSE
    IF NEW IS NOT DISTINCT FROM OLD THEN
      RETURN NULL;
    END IF;
    IF OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL THEN
      kinds := kinds || 'closed'::incident_event_kind;
    END IF;
    IF OLD.acknowledged_at IS NULL AND NEW.acknowledged_at IS NOT NULL THEN
      kinds := kinds || 'acknowledged'::incident_event_kind;
    END IF;
    IF cardinality(kinds) = 0 THEN
      kinds := ARRAY['updated']::incident_event_kind[];
    END IF;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('incident_events', 0));
  INSERT INTO incident_events (incident_id, kind, incident_kind, sensor_id, facility_id, community_id, street_id, snapshot)
  SELECT NEW.id, k.kind, NEW.kind, NEW.sensor_id, NEW.facility_id, NEW.community_id, NEW.street_id, to_jsonb(NEW)
  FROM unnest(kinds) WITH ORDINALITY AS k(kind, n)
  ORDER BY k.n;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER incident_events_record AFTER INSERT OR UPDATE ON incidents
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION incident_events_record();
