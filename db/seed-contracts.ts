import type { Tx } from "./client.js";
import type { communities, facilities, organizations, streets } from "./schema.js";

type Org = typeof organizations.$inferSelect;

export interface DemoScene {
  street: typeof streets.$inferSelect;
  community: typeof communities.$inferSelect;
  elevators: (typeof facilities.$inferSelect)[];
  garages: (typeof facilities.$inferSelect)[];
  parties: {
    streetOffice: Org;
    enterprise: Org;
    garageOperator: Org;
    ownersCommittee: Org;
    propertyCompany: Org;
  };
}

/** The demo contracts, one in each state of the lifecycle. */
export async function seedDemoContracts(_tx: Tx, _scene: DemoScene): Promise<void> {
  // Filled in with the contract lifecycle.
}
