CREATE TYPE "public"."incident_event_kind" AS ENUM('opened', 'updated', 'closed', 'acknowledged');--> statement-breakpoint
CREATE TABLE "incident_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"incident_id" uuid NOT NULL,
	"kind" "incident_event_kind" NOT NULL,
	"incident_kind" "incident_kind" NOT NULL,
	"sensor_id" uuid NOT NULL,
	"facility_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"street_id" uuid NOT NULL,
	"snapshot" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "incident_events_community_id_id_index" ON "incident_events" USING btree ("community_id","id");--> statement-breakpoint
CREATE INDEX "incident_events_street_id_id_index" ON "incident_events" USING btree ("street_id","id");--> statement-breakpoint
CREATE INDEX "incident_events_sensor_id_id_index" ON "incident_events" USING btree ("sensor_id","id");--> statement-breakpoint
CREATE INDEX "incident_events_incident_id_id_index" ON "incident_events" USING btree ("incident_id","id");