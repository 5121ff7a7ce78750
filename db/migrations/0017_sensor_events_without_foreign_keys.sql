ALTER TABLE "sensor_events" DROP CONSTRAINT "sensor_events_sensor_id_sensors_id_fk";
--> statement-breakpoint
ALTER TABLE "sensor_events" DROP CONSTRAINT "sensor_events_facility_id_facilities_id_fk";
