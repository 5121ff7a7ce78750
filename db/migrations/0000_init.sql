CREATE TYPE "public"."contract_state" AS ENUM('draft', 'submitted', 'changes_requested', 'approved', 'signed', 'under_construction', 'operating', 'transferred', 'terminated');--> statement-breakpoint
CREATE TYPE "public"."facility_kind" AS ENUM('garage', 'elevator');--> statement-breakpoint
CREATE TYPE "public"."facility_status" AS ENUM('planned', 'under_construction', 'operating', 'transferred', 'decommissioned');--> statement-breakpoint
CREATE TYPE "public"."fee_kind" AS ENUM('monthly', 'yearly', 'per_use', 'one_off');--> statement-breakpoint
CREATE TYPE "public"."fee_unit" AS ENUM('household', 'slot', 'ride', 'kWh', 'hour');--> statement-breakpoint
CREATE TYPE "public"."garage_size" AS ENUM('large', 'mini');--> statement-breakpoint
CREATE TYPE "public"."key_role" AS ENUM('admin', 'member');--> statement-breakpoint
CREATE TYPE "public"."milestone_kind" AS ENUM('construction_start', 'completion_acceptance', 'operation_start');--> statement-breakpoint
CREATE TYPE "public"."organization_kind" AS ENUM('street_office', 'enterprise', 'owners_committee', 'property_company');--> statement-breakpoint
CREATE TYPE "public"."version_status" AS ENUM('draft', 'submitted', 'changes_requested', 'approved', 'signed', 'superseded');--> statement-breakpoint
CREATE TYPE "public"."vote_matter" AS ENUM('special', 'ordinary');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"name" text NOT NULL,
	"role" "key_role" NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_keyHash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"contract_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"action" text NOT NULL,
	"actor_org_id" uuid NOT NULL,
	"actor_key_id" uuid,
	"version_no" integer,
	"payload" jsonb NOT NULL,
	"content_hash" text,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "audit_log_contractId_seq_unique" UNIQUE("contract_id","seq")
);
--> statement-breakpoint
CREATE TABLE "buildings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"community_id" uuid NOT NULL,
	"name" text NOT NULL,
	"storeys" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "buildings_communityId_name_unique" UNIQUE("community_id","name"),
	CONSTRAINT "buildings_storeys" CHECK ("buildings"."storeys" between 1 and 100)
);
--> statement-breakpoint
CREATE TABLE "communities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"street_id" uuid NOT NULL,
	"name" text NOT NULL,
	"address" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "communities_streetId_name_unique" UNIQUE("street_id","name")
);
--> statement-breakpoint
CREATE TABLE "contract_comments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"version_no" integer NOT NULL,
	"author_org_id" uuid NOT NULL,
	"author_key_id" uuid,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "contract_facilities" (
	"contract_id" uuid NOT NULL,
	"facility_id" uuid NOT NULL,
	CONSTRAINT "contract_facilities_contract_id_facility_id_pk" PRIMARY KEY("contract_id","facility_id")
);
--> statement-breakpoint
CREATE TABLE "contract_milestones" (
	"contract_id" uuid NOT NULL,
	"kind" "milestone_kind" NOT NULL,
	"occurred_on" date NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"recorded_by_org_id" uuid NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"confirmed_by_org_id" uuid,
	"confirmed_at" timestamp with time zone,
	CONSTRAINT "contract_milestones_contract_id_kind_pk" PRIMARY KEY("contract_id","kind")
);
--> statement-breakpoint
CREATE TABLE "contract_signatures" (
	"contract_id" uuid NOT NULL,
	"version_no" integer NOT NULL,
	"party_org_id" uuid NOT NULL,
	"party" "organization_kind" NOT NULL,
	"key_id" uuid,
	"content_hash" text NOT NULL,
	"signed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contract_signatures_contract_id_version_no_party_org_id_pk" PRIMARY KEY("contract_id","version_no","party_org_id")
);
--> statement-breakpoint
CREATE TABLE "contract_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"version_no" integer NOT NULL,
	"status" "version_status" DEFAULT 'draft' NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"is_amendment" boolean DEFAULT false NOT NULL,
	"effective_date" date,
	"summary" text DEFAULT '' NOT NULL,
	"total_investment" numeric(14, 2) NOT NULL,
	"enterprise_capital" numeric(14, 2) NOT NULL,
	"guidance_funds" numeric(14, 2) NOT NULL,
	"operation_term_months" integer NOT NULL,
	"maintenance_obligations" text NOT NULL,
	"handback_conditions" jsonb NOT NULL,
	"submitted_at" timestamp with time zone,
	"content_hash" text,
	"signed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contract_versions_contractId_versionNo_unique" UNIQUE("contract_id","version_no")
);
--> statement-breakpoint
CREATE TABLE "contract_votes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"version_no" integer NOT NULL,
	"matter" "vote_matter" NOT NULL,
	"total_area" numeric(14, 2) NOT NULL,
	"total_owners" integer NOT NULL,
	"participating_area" numeric(14, 2) NOT NULL,
	"participating_owners" integer NOT NULL,
	"yes_area" numeric(14, 2) NOT NULL,
	"yes_owners" integer NOT NULL,
	"passed" boolean NOT NULL,
	"held_on" date NOT NULL,
	"recorded_by_org_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "contracts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"title" text NOT NULL,
	"street_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"enterprise_org_id" uuid NOT NULL,
	"owners_committee_org_id" uuid NOT NULL,
	"property_company_org_id" uuid NOT NULL,
	"street_office_org_id" uuid,
	"vote_matter" "vote_matter" DEFAULT 'special' NOT NULL,
	"state" "contract_state" DEFAULT 'draft' NOT NULL,
	"current_version_no" integer DEFAULT 1 NOT NULL,
	"signed_version_no" integer,
	"operation_start_date" date,
	"transfer_date" date,
	"transferred_on" date,
	"terminated_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "districts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "districts_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "facilities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"street_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"kind" "facility_kind" NOT NULL,
	"name" text NOT NULL,
	"status" "facility_status" DEFAULT 'planned' NOT NULL,
	"garage_size" "garage_size",
	"parking_capacity" integer,
	"charging_points" integer,
	"building_id" uuid,
	"floors_served" integer,
	"stops" integer,
	"operator_org_id" uuid,
	"transferred_at" date,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "facilities_kind_fields" CHECK (("facilities"."kind" = 'garage' and "facilities"."garage_size" is not null and "facilities"."parking_capacity" is not null and "facilities"."charging_points" is not null and "facilities"."building_id" is null)
       or ("facilities"."kind" = 'elevator' and "facilities"."building_id" is not null and "facilities"."floors_served" is not null and "facilities"."stops" is not null and "facilities"."garage_size" is null))
);
--> statement-breakpoint
CREATE TABLE "fee_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"version_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"kind" "fee_kind" NOT NULL,
	"unit" "fee_unit" NOT NULL,
	"price" numeric(14, 2) NOT NULL,
	"floor_prices" jsonb,
	CONSTRAINT "fee_items_versionId_code_unique" UNIQUE("version_id","code"),
	CONSTRAINT "fee_items_price" CHECK ("fee_items"."price" >= 0)
);
--> statement-breakpoint
CREATE TABLE "handback_checks" (
	"contract_id" uuid NOT NULL,
	"code" text NOT NULL,
	"description" text NOT NULL,
	"checked_on" date,
	"checked_by_org_id" uuid,
	"note" text DEFAULT '' NOT NULL,
	CONSTRAINT "handback_checks_contract_id_code_pk" PRIMARY KEY("contract_id","code")
);
--> statement-breakpoint
CREATE TABLE "households" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"building_id" uuid NOT NULL,
	"unit" text NOT NULL,
	"room" text NOT NULL,
	"floor" integer NOT NULL,
	"floor_area" numeric(10, 2) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "households_buildingId_unit_room_unique" UNIQUE("building_id","unit","room"),
	CONSTRAINT "households_floor_area" CHECK ("households"."floor_area" > 0)
);
--> statement-breakpoint
CREATE TABLE "organization_communities" (
	"organization_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	CONSTRAINT "organization_communities_organization_id_community_id_pk" PRIMARY KEY("organization_id","community_id")
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "organization_kind" NOT NULL,
	"name" text NOT NULL,
	"street_id" uuid NOT NULL,
	"credit_code" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organizations_streetId_kind_name_unique" UNIQUE("street_id","kind","name")
);
--> statement-breakpoint
CREATE TABLE "streets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"district_id" uuid NOT NULL,
	"name" text NOT NULL,
	"garage_target" integer DEFAULT 0 NOT NULL,
	"elevator_target" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "streets_districtId_name_unique" UNIQUE("district_id","name")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_actor_org_id_organizations_id_fk" FOREIGN KEY ("actor_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "buildings" ADD CONSTRAINT "buildings_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "communities" ADD CONSTRAINT "communities_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_comments" ADD CONSTRAINT "contract_comments_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_comments" ADD CONSTRAINT "contract_comments_author_org_id_organizations_id_fk" FOREIGN KEY ("author_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_comments" ADD CONSTRAINT "contract_comments_author_key_id_api_keys_id_fk" FOREIGN KEY ("author_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_facilities" ADD CONSTRAINT "contract_facilities_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_facilities" ADD CONSTRAINT "contract_facilities_facility_id_facilities_id_fk" FOREIGN KEY ("facility_id") REFERENCES "public"."facilities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_milestones" ADD CONSTRAINT "contract_milestones_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_milestones" ADD CONSTRAINT "contract_milestones_recorded_by_org_id_organizations_id_fk" FOREIGN KEY ("recorded_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_milestones" ADD CONSTRAINT "contract_milestones_confirmed_by_org_id_organizations_id_fk" FOREIGN KEY ("confirmed_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_signatures" ADD CONSTRAINT "contract_signatures_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_signatures" ADD CONSTRAINT "contract_signatures_party_org_id_organizations_id_fk" FOREIGN KEY ("party_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_signatures" ADD CONSTRAINT "contract_signatures_key_id_api_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_versions" ADD CONSTRAINT "contract_versions_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_votes" ADD CONSTRAINT "contract_votes_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_votes" ADD CONSTRAINT "contract_votes_recorded_by_org_id_organizations_id_fk" FOREIGN KEY ("recorded_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contracts" ADD CONSTRAINT "contracts_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contracts" ADD CONSTRAINT "contracts_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contracts" ADD CONSTRAINT "contracts_enterprise_org_id_organizations_id_fk" FOREIGN KEY ("enterprise_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contracts" ADD CONSTRAINT "contracts_owners_committee_org_id_organizations_id_fk" FOREIGN KEY ("owners_committee_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contracts" ADD CONSTRAINT "contracts_property_company_org_id_organizations_id_fk" FOREIGN KEY ("property_company_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contracts" ADD CONSTRAINT "contracts_street_office_org_id_organizations_id_fk" FOREIGN KEY ("street_office_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "facilities" ADD CONSTRAINT "facilities_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "facilities" ADD CONSTRAINT "facilities_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "facilities" ADD CONSTRAINT "facilities_building_id_buildings_id_fk" FOREIGN KEY ("building_id") REFERENCES "public"."buildings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "facilities" ADD CONSTRAINT "facilities_operator_org_id_organizations_id_fk" FOREIGN KEY ("operator_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fee_items" ADD CONSTRAINT "fee_items_version_id_contract_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."contract_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "handback_checks" ADD CONSTRAINT "handback_checks_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "handback_checks" ADD CONSTRAINT "handback_checks_checked_by_org_id_organizations_id_fk" FOREIGN KEY ("checked_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "households" ADD CONSTRAINT "households_building_id_buildings_id_fk" FOREIGN KEY ("building_id") REFERENCES "public"."buildings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_communities" ADD CONSTRAINT "organization_communities_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_communities" ADD CONSTRAINT "organization_communities_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "streets" ADD CONSTRAINT "streets_district_id_districts_id_fk" FOREIGN KEY ("district_id") REFERENCES "public"."districts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_organization_id_index" ON "api_keys" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "contract_comments_contract_id_version_no_index" ON "contract_comments" USING btree ("contract_id","version_no");--> statement-breakpoint
CREATE INDEX "contract_facilities_facility_id_index" ON "contract_facilities" USING btree ("facility_id");--> statement-breakpoint
CREATE INDEX "contract_votes_contract_id_version_no_index" ON "contract_votes" USING btree ("contract_id","version_no");--> statement-breakpoint
CREATE INDEX "contracts_street_id_state_index" ON "contracts" USING btree ("street_id","state");--> statement-breakpoint
CREATE INDEX "contracts_enterprise_org_id_index" ON "contracts" USING btree ("enterprise_org_id");--> statement-breakpoint
CREATE INDEX "contracts_community_id_index" ON "contracts" USING btree ("community_id");--> statement-breakpoint
CREATE INDEX "contracts_transfer_date_index" ON "contracts" USING btree ("transfer_date");--> statement-breakpoint
CREATE INDEX "facilities_community_id_index" ON "facilities" USING btree ("community_id");--> statement-breakpoint
CREATE INDEX "facilities_street_id_index" ON "facilities" USING btree ("street_id");--> statement-breakpoint
CREATE INDEX "organization_communities_community_id_index" ON "organization_communities" USING btree ("community_id");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_one_office_per_street" ON "organizations" USING btree ("street_id") WHERE "organizations"."kind" = 'street_office';