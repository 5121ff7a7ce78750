CREATE TYPE "public"."false_alarm_reason" AS ENUM('stroller', 'wheelchair', 'bicycle', 'other');--> statement-breakpoint
CREATE TYPE "public"."incident_classification" AS ENUM('confirmed', 'false_alarm');--> statement-breakpoint
CREATE TYPE "public"."incident_kind" AS ENUM('ebike', 'sensor_offline');--> statement-breakpoint
CREATE TYPE "public"."sensor_event_type" AS ENUM('ebike_detected', 'ebike_cleared', 'heartbeat', 'fault');--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"topic" text NOT NULL,
	"sensor_id" text,
	"payload" text NOT NULL,
	"payload_base64" boolean DEFAULT false NOT NULL,
	"payload_bytes" integer NOT NULL,
	"reason" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "incidents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "incident_kind" NOT NULL,
	"sensor_id" uuid NOT NULL,
	"facility_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"street_id" uuid NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"detections" integer DEFAULT 0 NOT NULL,
	"halt_seconds" integer,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by_org_id" uuid,
	"classification" "incident_classification",
	"false_alarm_reason" "false_alarm_reason",
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "incidents_false_alarm_reason" CHECK (("incidents"."classification" = 'false_alarm') = ("incidents"."false_alarm_reason" is not null))
);
--> statement-breakpoint
CREATE TABLE "sensor_events" (
	"sensor_id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"facility_id" uuid NOT NULL,
	"type" "sensor_event_type" NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"payload" jsonb NOT NULL,
	CONSTRAINT "sensor_events_sensor_id_event_id_pk" PRIMARY KEY("sensor_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "sensors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"facility_id" uuid NOT NULL,
	"street_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"enterprise_org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"broker_password_hash" text NOT NULL,
	"revoked_at" timestamp with time zone,
	"heartbeat_interval_s" integer DEFAULT 30 NOT NULL,
	"last_seen_at" timestamp with time zone,
	"last_heartbeat_at" timestamp with time zone,
	"online" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sensors_keyHash_unique" UNIQUE("key_hash"),
	CONSTRAINT "sensors_heartbeat_interval" CHECK ("sensors"."heartbeat_interval_s" between 5 and 3600)
);
--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_sensor_id_sensors_id_fk" FOREIGN KEY ("sensor_id") REFERENCES "public"."sensors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_facility_id_facilities_id_fk" FOREIGN KEY ("facility_id") REFERENCES "public"."facilities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_acknowledged_by_org_id_organizations_id_fk" FOREIGN KEY ("acknowledged_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensor_events" ADD CONSTRAINT "sensor_events_sensor_id_sensors_id_fk" FOREIGN KEY ("sensor_id") REFERENCES "public"."sensors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensor_events" ADD CONSTRAINT "sensor_events_facility_id_facilities_id_fk" FOREIGN KEY ("facility_id") REFERENCES "public"."facilities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensors" ADD CONSTRAINT "sensors_facility_id_facilities_id_fk" FOREIGN KEY ("facility_id") REFERENCES "public"."facilities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensors" ADD CONSTRAINT "sensors_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensors" ADD CONSTRAINT "sensors_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensors" ADD CONSTRAINT "sensors_enterprise_org_id_organizations_id_fk" FOREIGN KEY ("enterprise_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dead_letters_sensor_id_received_at_index" ON "dead_letters" USING btree ("sensor_id","received_at");--> statement-breakpoint
CREATE INDEX "dead_letters_received_at_index" ON "dead_letters" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_one_open_per_elevator" ON "incidents" USING btree ("facility_id","kind") WHERE "incidents"."closed_at" is null;--> statement-breakpoint
CREATE INDEX "incidents_facility_id_kind_opened_at_index" ON "incidents" USING btree ("facility_id","kind","opened_at");--> statement-breakpoint
CREATE INDEX "incidents_community_id_opened_at_index" ON "incidents" USING btree ("community_id","opened_at");--> statement-breakpoint
CREATE INDEX "incidents_street_id_opened_at_index" ON "incidents" USING btree ("street_id","opened_at");--> statement-breakpoint
CREATE INDEX "sensor_events_ebike_by_facility" ON "sensor_events" USING btree ("facility_id","occurred_at") WHERE "sensor_events"."type" in ('ebike_detected', 'ebike_cleared');--> statement-breakpoint
CREATE INDEX "sensor_events_sensor_id_occurred_at_index" ON "sensor_events" USING btree ("sensor_id","occurred_at");--> statement-breakpoint
CREATE INDEX "sensors_facility_id_index" ON "sensors" USING btree ("facility_id");--> statement-breakpoint
CREATE INDEX "sensors_community_id_index" ON "sensors" USING btree ("community_id");--> statement-breakpoint
CREATE INDEX "sensors_enterprise_org_id_index" ON "sensors" USING btree ("enterprise_org_id");