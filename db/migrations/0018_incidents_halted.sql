ALTER TABLE "incidents" ADD COLUMN "halted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- The e-bike incidents stored before the column: halted as the statistics computed it until now
-- (some detection of the elevator within the incident reported carHalted: true).
UPDATE "incidents" i SET "halted" = true
WHERE i.kind = 'ebike' AND EXISTS (SELECT 1 FROM sensor_events ev
  WHERE ev.facility_id = i.facility_id AND ev.type = 'ebike_detected'
    AND ev.occurred_at >= i.opened_at AND (i.closed_at IS NULL OR ev.occurred_at <= i.closed_at)
    AND ev.payload @> '{"carHalted": true}'::jsonb);
