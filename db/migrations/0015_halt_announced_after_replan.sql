-- Each e-bike halt is announced once, also when the ingest re-plans an elevator's incidents from
-- events that arrived out of order. The dedupe key is the elevator and the opening instant, and the
-- ingest may move a stored incident to another halt by updating its opening. The case this fixes:
-- a detection at 60 s opens incident J (announced, key "60 s"); a late detection at 0 s moves J's
-- opening to 0 s (the same halt, not announced again); a clear at 30 s arrives later still and
-- splits them: J keeps the halt at 0 s and a new incident opens at 60 s, whose key was taken by
-- J's announcement. Then the halt at 0 s was never announced. So when an inserted incident finds
-- its key taken by an incident that has since moved to another opening, that opening is
-- announced, for the incident that now holds it.
CREATE OR REPLACE FUNCTION announce_incident_opening(inc incidents) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  iso_opened text := to_char(inc.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
BEGIN
  INSERT INTO notification_events (type, subject_id, street_id, community_id, facility_id, enterprise_org_id,
    dedupe_key, payload, occurred_at)
  SELECT
    CASE WHEN inc.kind = 'ebike' THEN 'ebike_halt_opened' ELSE 'sensor_offline' END::notification_type,
    inc.id::text, inc.street_id, inc.community_id, inc.facility_id, s.enterprise_org_id,
    CASE WHEN inc.kind = 'ebike'
      THEN 'ebike_halt_opened:' || inc.facility_id || ':' || iso_opened
      ELSE 'sensor_offline:' || inc.id END,
    CASE WHEN inc.kind = 'ebike'
      THEN jsonb_build_object('incidentId', inc.id, 'facilityId', inc.facility_id, 'facilityName', f.name,
        'communityName', c.name, 'openedAt', iso_opened)
      ELSE jsonb_build_object('incidentId', inc.id, 'sensorId', inc.sensor_id, 'sensorName', s.name,
        'facilityName', f.name, 'communityName', c.name, 'since', iso_opened) END,
    inc.opened_at
  FROM facilities f
  JOIN communities c ON c.id = inc.community_id
  JOIN sensors s ON s.id = inc.sensor_id
  WHERE f.id = inc.facility_id
  ON CONFLICT (dedupe_key) DO NOTHING;
  RETURN FOUND;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION incident_notification_causes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  moved incidents;
BEGIN
  IF announce_incident_opening(NEW) OR NEW.kind <> 'ebike' THEN
    RETURN NULL;
  END IF;
  SELECT i.* INTO moved
  FROM notification_events e
  JOIN incidents i ON i.id::text = e.subject_id
  WHERE e.dedupe_key = 'ebike_halt_opened:' || NEW.facility_id || ':'
      || to_char(NEW.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    AND i.id <> NEW.id AND i.opened_at <> NEW.opened_at;
  IF FOUND THEN
    PERFORM announce_incident_opening(moved);
  END IF;
  RETURN NULL;
END;
$$;
