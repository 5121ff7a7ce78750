-- The incident that holds a taken dedupe key is found by its id through the primary key: the
-- lookup compared `incidents.id::text` with the key's subject, which no index serves, so every
-- inserted incident whose key was taken read the whole incidents table (a quarter of a second at a
-- city's year of history, per incident, inside the ingest's transaction).
CREATE OR REPLACE FUNCTION incident_notification_causes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  moved incidents;
BEGIN
  IF announce_incident_opening(NEW) OR NEW.kind <> 'ebike' THEN
    RETURN NULL;
  END IF;
  -- An ebike_halt_opened key's subject is always the id of the incident it announced.
  SELECT i.* INTO moved
  FROM incidents i
  WHERE i.id = (SELECT e.subject_id::uuid FROM notification_events e
      WHERE e.dedupe_key = 'ebike_halt_opened:' || NEW.facility_id || ':'
        || to_char(NEW.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    AND i.id <> NEW.id AND i.opened_at <> NEW.opened_at;
  IF FOUND THEN
    PERFORM announce_incident_opening(moved);
  END IF;
  RETURN NULL;
END;
$$;
