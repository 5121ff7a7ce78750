CREATE TYPE "public"."credit_reason" AS ENUM('overpayment', 'cancellation', 'transfer', 'adjustment');--> statement-breakpoint
CREATE TYPE "public"."invoice_kind" AS ENUM('subscription', 'usage', 'final');--> statement-breakpoint
CREATE TYPE "public"."payment_method" AS ENUM('cash', 'wechat', 'alipay', 'bank_transfer', 'card');--> statement-breakpoint
CREATE TYPE "public"."report_status" AS ENUM('submitted', 'accepted', 'queried', 'superseded');--> statement-breakpoint
CREATE TYPE "public"."subscription_kind" AS ENUM('monthly', 'yearly');--> statement-breakpoint
CREATE TYPE "public"."subscription_state" AS ENUM('active', 'suspended', 'cancelled', 'ended');--> statement-breakpoint
CREATE TYPE "public"."usage_kind" AS ENUM('charging', 'ride');--> statement-breakpoint
CREATE TABLE "billing_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"period" text NOT NULL,
	"idempotency_key" text,
	"requested_by_org_id" uuid NOT NULL,
	"invoices_created" integer DEFAULT 0 NOT NULL,
	"total_amount" numeric(14, 2) DEFAULT '0' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_runs_contractId_period_unique" UNIQUE("contract_id","period"),
	CONSTRAINT "billing_runs_contractId_idempotencyKey_unique" UNIQUE("contract_id","idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "credit_applications" (
	"credit_note_id" uuid NOT NULL,
	"invoice_id" uuid NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_applications_credit_note_id_invoice_id_pk" PRIMARY KEY("credit_note_id","invoice_id")
);
--> statement-breakpoint
CREATE TABLE "credit_notes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"number" text NOT NULL,
	"enterprise_org_id" uuid NOT NULL,
	"contract_id" uuid NOT NULL,
	"subscriber_key" text NOT NULL,
	"reason" "credit_reason" NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	"remaining" numeric(14, 2) NOT NULL,
	"payment_id" uuid,
	"subscription_id" uuid,
	"note" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_notes_enterpriseOrgId_number_unique" UNIQUE("enterprise_org_id","number"),
	CONSTRAINT "credit_notes_amounts" CHECK ("credit_notes"."amount" > 0 and "credit_notes"."remaining" >= 0 and "credit_notes"."remaining" <= "credit_notes"."amount")
);
--> statement-breakpoint
CREATE TABLE "document_counters" (
	"enterprise_org_id" uuid NOT NULL,
	"series" text NOT NULL,
	"year" integer NOT NULL,
	"last_seq" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "document_counters_enterprise_org_id_series_year_pk" PRIMARY KEY("enterprise_org_id","series","year")
);
--> statement-breakpoint
CREATE TABLE "financial_assumptions" (
	"contract_id" uuid PRIMARY KEY NOT NULL,
	"assumptions" jsonb NOT NULL,
	"updated_by_org_id" uuid NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "guidance_disbursements" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	"paid_on" date NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"recorded_by_org_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "guidance_disbursements_amount" CHECK ("guidance_disbursements"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "invoice_lines" (
	"invoice_id" uuid NOT NULL,
	"line_no" integer NOT NULL,
	"code" text NOT NULL,
	"description" text NOT NULL,
	"quantity" numeric(14, 3) NOT NULL,
	"unit_price" numeric(14, 2) NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	CONSTRAINT "invoice_lines_invoice_id_line_no_pk" PRIMARY KEY("invoice_id","line_no")
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"number" text NOT NULL,
	"enterprise_org_id" uuid NOT NULL,
	"contract_id" uuid NOT NULL,
	"street_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"subscriber_key" text NOT NULL,
	"household_id" uuid,
	"subscription_id" uuid,
	"billing_run_id" uuid,
	"kind" "invoice_kind" NOT NULL,
	"period" text NOT NULL,
	"issue_date" date NOT NULL,
	"due_date" date NOT NULL,
	"total" numeric(14, 2) NOT NULL,
	"credit_applied" numeric(14, 2) DEFAULT '0' NOT NULL,
	"paid_amount" numeric(14, 2) DEFAULT '0' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invoices_enterpriseOrgId_number_unique" UNIQUE("enterprise_org_id","number"),
	CONSTRAINT "invoices_amounts" CHECK ("invoices"."total" >= 0 and "invoices"."credit_applied" >= 0 and "invoices"."paid_amount" >= 0
      and "invoices"."credit_applied" + "invoices"."paid_amount" <= "invoices"."total")
);
--> statement-breakpoint
CREATE TABLE "operation_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"period" text NOT NULL,
	"version_no" integer NOT NULL,
	"status" "report_status" DEFAULT 'submitted' NOT NULL,
	"figures" jsonb NOT NULL,
	"submitted_by_org_id" uuid NOT NULL,
	"reviewed_by_org_id" uuid,
	"reviewed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operation_reports_contractId_period_versionNo_unique" UNIQUE("contract_id","period","version_no")
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"invoice_id" uuid NOT NULL,
	"contract_id" uuid NOT NULL,
	"enterprise_org_id" uuid NOT NULL,
	"subscriber_key" text NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	"applied_amount" numeric(14, 2) NOT NULL,
	"method" "payment_method" NOT NULL,
	"external_ref" text NOT NULL,
	"received_on" date NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payments_enterpriseOrgId_externalRef_unique" UNIQUE("enterprise_org_id","external_ref"),
	CONSTRAINT "payments_amounts" CHECK ("payments"."amount" > 0 and "payments"."applied_amount" >= 0 and "payments"."applied_amount" <= "payments"."amount")
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"credit_note_id" uuid NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	"method" "payment_method" NOT NULL,
	"external_ref" text NOT NULL,
	"paid_on" date NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "refunds_creditNoteId_externalRef_unique" UNIQUE("credit_note_id","external_ref"),
	CONSTRAINT "refunds_amount" CHECK ("refunds"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "report_comments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"report_id" uuid NOT NULL,
	"author_org_id" uuid NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"street_id" uuid NOT NULL,
	"community_id" uuid NOT NULL,
	"enterprise_org_id" uuid NOT NULL,
	"subscriber_key" text NOT NULL,
	"household_id" uuid,
	"slot_ref" text,
	"fee_code" text NOT NULL,
	"kind" "subscription_kind" NOT NULL,
	"unit_price" numeric(14, 2) NOT NULL,
	"price_version_no" integer NOT NULL,
	"start_date" date NOT NULL,
	"end_date" date,
	"state" "subscription_state" DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_subscriber" CHECK (("subscriptions"."household_id" is not null and "subscriptions"."slot_ref" is null) or ("subscriptions"."household_id" is null and "subscriptions"."slot_ref" is not null)),
	CONSTRAINT "subscriptions_dates" CHECK ("subscriptions"."end_date" is null or "subscriptions"."end_date" >= "subscriptions"."start_date" - 1)
);
--> statement-breakpoint
CREATE TABLE "usage_records" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract_id" uuid NOT NULL,
	"session_id" text NOT NULL,
	"subscriber_key" text NOT NULL,
	"household_id" uuid,
	"kind" "usage_kind" NOT NULL,
	"fee_code" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"period" text NOT NULL,
	"quantity" numeric(14, 3) NOT NULL,
	"invoice_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_records_contractId_sessionId_unique" UNIQUE("contract_id","session_id")
);
--> statement-breakpoint
ALTER TABLE "contracts" ADD COLUMN "invoice_due_days" integer DEFAULT 15 NOT NULL;--> statement-breakpoint
ALTER TABLE "contracts" ADD COLUMN "payment_grace_days" integer DEFAULT 15 NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "invoice_prefix" text DEFAULT 'BOT' NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_runs" ADD CONSTRAINT "billing_runs_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_runs" ADD CONSTRAINT "billing_runs_requested_by_org_id_organizations_id_fk" FOREIGN KEY ("requested_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_applications" ADD CONSTRAINT "credit_applications_credit_note_id_credit_notes_id_fk" FOREIGN KEY ("credit_note_id") REFERENCES "public"."credit_notes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_applications" ADD CONSTRAINT "credit_applications_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_enterprise_org_id_organizations_id_fk" FOREIGN KEY ("enterprise_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "document_counters" ADD CONSTRAINT "document_counters_enterprise_org_id_organizations_id_fk" FOREIGN KEY ("enterprise_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "financial_assumptions" ADD CONSTRAINT "financial_assumptions_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "financial_assumptions" ADD CONSTRAINT "financial_assumptions_updated_by_org_id_organizations_id_fk" FOREIGN KEY ("updated_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "guidance_disbursements" ADD CONSTRAINT "guidance_disbursements_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "guidance_disbursements" ADD CONSTRAINT "guidance_disbursements_recorded_by_org_id_organizations_id_fk" FOREIGN KEY ("recorded_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_enterprise_org_id_organizations_id_fk" FOREIGN KEY ("enterprise_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_household_id_households_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."households"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_billing_run_id_billing_runs_id_fk" FOREIGN KEY ("billing_run_id") REFERENCES "public"."billing_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operation_reports" ADD CONSTRAINT "operation_reports_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operation_reports" ADD CONSTRAINT "operation_reports_submitted_by_org_id_organizations_id_fk" FOREIGN KEY ("submitted_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operation_reports" ADD CONSTRAINT "operation_reports_reviewed_by_org_id_organizations_id_fk" FOREIGN KEY ("reviewed_by_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_enterprise_org_id_organizations_id_fk" FOREIGN KEY ("enterprise_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_credit_note_id_credit_notes_id_fk" FOREIGN KEY ("credit_note_id") REFERENCES "public"."credit_notes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_comments" ADD CONSTRAINT "report_comments_report_id_operation_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."operation_reports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_comments" ADD CONSTRAINT "report_comments_author_org_id_organizations_id_fk" FOREIGN KEY ("author_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_street_id_streets_id_fk" FOREIGN KEY ("street_id") REFERENCES "public"."streets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_community_id_communities_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."communities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_enterprise_org_id_organizations_id_fk" FOREIGN KEY ("enterprise_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_household_id_households_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."households"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_contract_id_contracts_id_fk" FOREIGN KEY ("contract_id") REFERENCES "public"."contracts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_household_id_households_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."households"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_notes_contract_id_subscriber_key_index" ON "credit_notes" USING btree ("contract_id","subscriber_key");--> statement-breakpoint
CREATE INDEX "guidance_disbursements_contract_id_index" ON "guidance_disbursements" USING btree ("contract_id");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_subscription_period" ON "invoices" USING btree ("subscription_id","period") WHERE "invoices"."kind" in ('subscription', 'final');--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_usage_period" ON "invoices" USING btree ("contract_id","subscriber_key","period") WHERE "invoices"."kind" = 'usage';--> statement-breakpoint
CREATE INDEX "invoices_contract_id_subscriber_key_index" ON "invoices" USING btree ("contract_id","subscriber_key");--> statement-breakpoint
CREATE INDEX "invoices_contract_id_due_date_index" ON "invoices" USING btree ("contract_id","due_date");--> statement-breakpoint
CREATE INDEX "payments_contract_id_subscriber_key_index" ON "payments" USING btree ("contract_id","subscriber_key");--> statement-breakpoint
CREATE UNIQUE INDEX "subscriptions_one_running_per_subscriber" ON "subscriptions" USING btree ("contract_id","subscriber_key") WHERE "subscriptions"."state" in ('active', 'suspended');--> statement-breakpoint
CREATE INDEX "subscriptions_contract_id_state_index" ON "subscriptions" USING btree ("contract_id","state");--> statement-breakpoint
CREATE INDEX "subscriptions_household_id_index" ON "subscriptions" USING btree ("household_id");--> statement-breakpoint
CREATE INDEX "usage_records_contract_id_period_index" ON "usage_records" USING btree ("contract_id","period");