-- An incident that opens is a notification cause (`ebike_halt_opened`, `sensor_offline`), recorded
-- by the database in the transaction that inserts the incident, whichever writer it is (the MQTT
-- and HTTP ingest, the offline sweeper, the last-will). A row trigger costs nothing on the ingest's
-- hot path: it runs only for inserted incidents, which are rare next to the events.
--
-- The ingest re-plans an elevator's incidents when late events arrive (iot/incidents.ts
-- planIncidents) and may delete an incident and insert it again: the dedupe key (elevator and
-- opening instant) makes the same opening announced once. The payload is the TypeScript
-- `NotificationPayloads` shape (contracts/notifications.ts), instants as JavaScript's ISO strings.
CREATE FUNCTION incident_notification_causes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  iso_opened text := to_char(NEW.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
BEGIN
  INSERT INTO notification_events (type, subject_id, street_id, community_id, facility_id, enterprise_org_id,
    dedupe_key, payload, occurred_at)
  SELECT
    CASE WHEN NEW.kind = 'ebike' THEN 'ebike_halt_opened' ELSE 'sensor_offline' END::notification_type,
    NEW.id::text, NEW.street_id, NEW.community_id, NEW.facility_id, s.enterprise_org_id,
    CASE WHEN NEW.kind = 'ebike'
      THEN 'ebike_halt_opened:' || NEW.facility_id || ':' || iso_opened
      ELSE 'sensor_offline:' || NEW.id END,
    CASE WHEN NEW.kind = 'ebike'
      THEN jsonb_build_object('incidentId', NEW.id, 'facilityId', NEW.facility_id, 'facilityName', f.name,
        'communityName', c.name, 'openedAt', iso_opened)
      ELSE jsonb_build_object('incidentId', NEW.id, 'sensorId', NEW.sensor_id, 'sensorName', s.name,
        'facilityName', f.name, 'communityName', c.name, 'since', iso_opened) END,
    NEW.opened_at
  FROM facilities f
  JOIN communities c ON c.id = NEW.community_id
  JOIN sensors s ON s.id = NEW.sensor_id
  WHERE f.id = NEW.facility_id
  ON CONFLICT (dedupe_key) DO NOTHING;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER incident_notification_causes AFTER INSERT ON incidents
  FOR EACH ROW EXECUTE FUNCTION incident_notification_causes();
