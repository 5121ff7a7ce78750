DROP INDEX "contracts_street_id_state_index";--> statement-breakpoint
DROP INDEX "contracts_enterprise_org_id_index";--> statement-breakpoint
CREATE INDEX "contracts_street_id_state_updated_at_id_index" ON "contracts" USING btree ("street_id","state","updated_at" DESC NULLS FIRST,"id");--> statement-breakpoint
CREATE INDEX "contracts_enterprise_org_id_state_updated_at_id_index" ON "contracts" USING btree ("enterprise_org_id","state","updated_at" DESC NULLS FIRST,"id");