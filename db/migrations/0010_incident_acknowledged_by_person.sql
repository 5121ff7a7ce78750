ALTER TABLE "incidents" ADD COLUMN "acknowledged_by_person_id" uuid;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "acknowledged_by_name" text;