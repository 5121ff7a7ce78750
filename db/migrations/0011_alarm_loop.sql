CREATE TYPE "public"."device_command_state" AS ENUM('pending', 'sent', 'applied', 'refused', 'expired');--> statement-breakpoint
CREATE TYPE "public"."device_command_type" AS ENUM('release', 'set_blocking', 'set_heartbeat');--> statement-breakpoint
CREATE TYPE "public"."notification_channel" AS ENUM('webhook', 'wecom', 'dingtalk');--> statement-breakpoint
CREATE TYPE "public"."notification_state" AS ENUM('pending', 'delivered', 'failed');--> statement-breakpoint
CREATE TYPE "public"."notification_type" AS ENUM('ebike_halt_opened', 'halt_unacknowledged', 'sensor_offline', 'command_failed', 'subscription_suspended', 'contract_awaiting_committee', 'transfer_due', 'report_filed', 'daily_digest', 'test_ping');--> statement-breakpoint
CREATE TABLE "device_commands" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sensor_id" uuid NOT NULL,
	"facility_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"street_id" uuid NOT NULL,
	"type" "device_command_type" NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"state" "device_command_state" DEFAULT 'pending' NOT NULL,
	"reason" text NOT NULL,
	"incident_id" uuid,
	"issued_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone,
	"result_at" timestamp with time zone,
	"result_reason" text,
	"issued_by_org_id" uuid NOT NULL,
	"issued_by_person_id" uuid,
	"issued_by_name" text
);
--> statement-breakpoint
CREATE TABLE "event_snapshots" (
	"sensor_id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"byte_size" integer NOT NULL,
	"sha256" text NOT NULL,
	"bytes" "bytea",
	"object_key" text,
	"received_at" timestamp with time zone NOT NULL,
	CONSTRAINT "event_snapshots_sensor_id_event_id_pk" PRIMARY KEY("sensor_id","event_id"),
	CONSTRAINT "event_snapshots_stored_once" CHECK (("event_snapshots"."bytes" is null) <> ("event_snapshots"."object_key" is null))
);
--> statement-breakpoint
CREATE TABLE "notification_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"notification_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"http_status" integer,
	"ok" boolean NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "notification_endpoints" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"name" text NOT NULL,
	"channel" "notification_channel" NOT NULL,
	"url" text NOT NULL,
	"secret" text,
	"disabled_at" timestamp with time zone,
	"disabled_reason" text,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"type" "notification_type" NOT NULL,
	"subject_id" text NOT NULL,
	"street_id" uuid,
	"community_id" uuid,
	"facility_id" uuid,
	"contract_id" uuid,
	"enterprise_org_id" uuid,
	"organization_id" uuid,
	"dedupe_key" text,
	"payload" jsonb NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"fanned_out_at" timestamp with time zone,
	CONSTRAINT "notification_events_dedupeKey_unique" UNIQUE("dedupe_key")
);
--> statement-breakpoint
CREATE TABLE "notification_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"type" "notification_type" NOT NULL,
	"after_minutes" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_rules_endpointId_type_unique" UNIQUE("endpoint_id","type")
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"type" "notification_type" NOT NULL,
	"dedupe_key" text NOT NULL,
	"event_id" bigint,
	"payload" jsonb NOT NULL,
	"state" "notification_state" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "notifications_endpointId_dedupeKey_unique" UNIQUE("endpoint_id","dedupe_key")
);
--> statement-breakpoint
ALTER TABLE "device_commands" ADD CONSTRAINT "device_commands_sensor_id_sensors_id_fk" FOREIGN KEY ("sensor_id") REFERENCES "public"."sensors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_commands" ADD CONSTRAINT "device_commands_facility_id_facilities_id_fk" FOREIGN KEY ("facility_id") REFERENCES "public"."facilities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_commands" ADD CONSTRAINT "device_commands_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_commands" ADD CONSTRAINT "device_commands_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_commands" ADD CONSTRAINT "device_commands_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_commands" ADD CONSTRAINT "device_commands_issued_by_org_id_organizations_id_fk" FOREIGN KEY ("issued_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "event_snapshots" ADD CONSTRAINT "event_snapshots_sensor_id_sensors_id_fk" FOREIGN KEY ("sensor_id") REFERENCES "public"."sensors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_attempts" ADD CONSTRAINT "notification_attempts_notification_id_notifications_id_fk" FOREIGN KEY ("notification_id") REFERENCES "public"."notifications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_endpoints" ADD CONSTRAINT "notification_endpoints_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_rules" ADD CONSTRAINT "notification_rules_endpoint_id_notification_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."notification_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_endpoint_id_notification_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."notification_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "device_commands_sensor_id_issued_at_index" ON "device_commands" USING btree ("sensor_id","issued_at");--> statement-breakpoint
CREATE INDEX "device_commands_incident_id_index" ON "device_commands" USING btree ("incident_id");--> statement-breakpoint
CREATE INDEX "device_commands_open" ON "device_commands" USING btree ("expires_at") WHERE "device_commands"."state" in ('pending', 'sent');--> statement-breakpoint
CREATE INDEX "event_snapshots_received_at_index" ON "event_snapshots" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "notification_attempts_endpoint_id_id_index" ON "notification_attempts" USING btree ("endpoint_id","id");--> statement-breakpoint
CREATE INDEX "notification_attempts_notification_id_index" ON "notification_attempts" USING btree ("notification_id");--> statement-breakpoint
CREATE INDEX "notification_endpoints_organization_id_index" ON "notification_endpoints" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "notification_events_waiting" ON "notification_events" USING btree ("id") WHERE "notification_events"."fanned_out_at" is null;--> statement-breakpoint
CREATE INDEX "notifications_due" ON "notifications" USING btree ("next_attempt_at") WHERE "notifications"."state" = 'pending';--> statement-breakpoint
CREATE INDEX "notifications_endpoint_id_created_at_index" ON "notifications" USING btree ("endpoint_id","created_at");