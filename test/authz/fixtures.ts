/**
 * Builds the world a matrix row needs: a fresh createWorld, a spare enterprise key, a pending
 * invitation to the enterprise's portal, a garage the enterprise operates, and (for contract
 * routes) the elevator contract driven through the API to the state the route acts on — or, for
 * the residents' fees routes (`billed`), an operating contract written straight into the database
 * with its ledger.
 */
import { asc, eq } from "drizzle-orm";
import { addPeriods, periodOf, shanghaiDate } from "../../contracts/index.js";
import type { Database } from "../../db/database.js";
import { generateToken } from "../../db/keys.js";
import {
  billingRuns,
  contractComments,
  contracts,
  contractVotes,
  creditNotes,
  deviceCommands,
  eventSnapshots,
  financialAssumptions,
  guidanceDisbursements,
  incidents,
  invitations,
  invoices,
  notificationAttempts,
  notificationEndpoints,
  notificationRules,
  notifications,
  operationReports,
  payments,
  refunds,
  reportComments,
  sensorEvents,
} from "../../db/schema.js";
import { generateWebhookSecret } from "../../src/services/notifications/signing.js";
import { INVITATION_TTL_MS } from "../../src/services/people.js";
import { client, type TestApp } from "../support/app.js";
import {
  createCreditNoteRecord,
  createFacility,
  createInvoice,
  createKey,
  createOperatingContract,
  createSubscription,
  createWorld,
  type World,
} from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";
import {
  FINANCIAL_ASSUMPTIONS,
  FIXTURE_JPEG,
  type Fixture,
  type FixtureState,
  type Ledger,
  NOW,
  REPORT_FIGURES,
} from "./matrix.js";

/** Each state and the one before it: the fixture replays the steps up to the state it needs. */
const STEPS: FixtureState[] = [
  "none",
  "draft",
  "submitted",
  "changes_requested",
  "voted",
  "approved",
  "signed",
  "construction_recorded",
  "operating",
];

type Api = ReturnType<typeof client>;

async function expectStatus(
  what: string,
  res: Promise<{ status: number; body: unknown }>,
  status: number,
): Promise<{ status: number; body: unknown }> {
  const done = await res;
  if (done.status !== status) {
    throw new Error(`fixture: ${what} answered ${done.status}, not ${status}: ${JSON.stringify(done.body)}`);
  }
  return done;
}

export async function buildFixture(db: Database, app: TestApp, state: FixtureState): Promise<Fixture> {
  const world = await createWorld(db);
  const spare = await createKey(db, world.enterprise.org.id, "admin");
  const garage = await createFacility(db, {
    kind: "garage",
    streetId: world.street.id,
    communityId: world.community.id,
    operatorOrgId: world.enterprise.org.id,
  });
  const [invitation] = await db
    .insert(invitations)
    .values({
      organizationId: world.enterprise.org.id,
      name: "王秀英",
      role: "member",
      tokenHash: generateToken().hash,
      expiresAt: new Date(NOW.getTime() + INVITATION_TTL_MS),
    })
    .returning({ id: invitations.id });
  if (!invitation) throw new Error("fixture: the invitation was not inserted");
  const fixture: Fixture = {
    world,
    spareKeyId: spare.id,
    invitationId: invitation.id,
    garageId: garage.id,
    contractId: null,
    sensor: null,
    ledger: null,
  };
  if (state === "none") return fixture;
  if (state === "sensor") return addSensor(db, app, fixture);
  if (state === "endpoint") return addEndpoint(db, fixture);
  if (state === "billed") {
    const { contract } = await createOperatingContract(db, world, {
      operationStart: "2024-12-01",
      termMonths: 24,
    });
    // The factory's contract has no street office; this one puts in guidance funds and signs.
    await db
      .update(contracts)
      .set({ streetOfficeOrgId: world.streetOffice.org.id })
      .where(eq(contracts.id, contract.id));
    fixture.contractId = contract.id;
    return addContractItems(db, await addLedger(db, fixture));
  }
  fixture.contractId = await driveContract(world, app, state);
  // An operating contract carries residents' fees too, so the other street (built operating) has
  // every kind of resource the fees routes address.
  return addContractItems(db, state === "operating" ? await addLedger(db, fixture) : fixture);
}

/**
 * What the contract's item reads address (see Fixture), written directly: a comment of the owners
 * committee on version 1, and on an operating contract guidance funds the street office paid;
 * and the owners' vote, once the contract was voted on.
 */
export async function addContractItems(db: Database, fx: Fixture): Promise<Fixture> {
  const { world } = fx;
  if (!fx.contractId) throw new Error("fixture: the contract's items need a contract");
  const [contract] = await db.select().from(contracts).where(eq(contracts.id, fx.contractId));
  if (!contract) throw new Error("fixture: the contract is gone");
  const [comment] = await db
    .insert(contractComments)
    .values({
      contractId: contract.id,
      versionNo: 1,
      authorOrgId: world.ownersCommittee.org.id,
      body: "请补充维保响应时间",
    })
    .returning();
  if (!comment) throw new Error("fixture: the comment insert returned nothing");
  const [vote] = await db
    .select({ id: contractVotes.id })
    .from(contractVotes)
    .where(eq(contractVotes.contractId, contract.id))
    .orderBy(asc(contractVotes.createdAt))
    .limit(1);
  const [disbursement] =
    contract.state === "operating"
      ? await db
          .insert(guidanceDisbursements)
          .values({
            contractId: contract.id,
            amount: "10000.00",
            paidOn: "2025-02-10",
            note: "首期引导资金",
            recordedByOrgId: world.streetOffice.org.id,
          })
          .returning()
      : [];
  return {
    ...fx,
    contractItems: {
      commentId: comment.id,
      voteId: vote?.id ?? null,
      disbursementId: disbursement?.id ?? null,
    },
  };
}

/**
 * The residents' fees of the fixture's operating contract (see Ledger), written directly: a
 * household's monthly subscription from the operation start, its invoice for 2025-02 issued by
 * that month's billing run with 10.00 of its 40.00 paid, a 20.00 cancellation credit note with
 * 5.00 refunded, a submitted report for the operation start month and a queried one for the
 * month after, and the enterprise's financial assumptions.
 */
export async function addLedger(db: Database, fx: Fixture): Promise<Fixture> {
  const { world } = fx;
  if (!fx.contractId) throw new Error("fixture: residents' fees need a contract");
  const [contract] = await db.select().from(contracts).where(eq(contracts.id, fx.contractId));
  if (contract?.state !== "operating" || !contract.operationStartDate) {
    throw new Error("fixture: residents' fees need an operating contract");
  }
  const opStart = contract.operationStartDate;
  // Floor 3 (EL-M 40.00 a month) subscribes; floor 4 has no subscription yet.
  const household = world.households[4];
  const free = world.households[6];
  if (!household || !free) throw new Error("fixture: the world has too few households");
  const subscription = await createSubscription(db, contract, {
    householdId: household.id,
    unitPrice: "40.00",
    startDate: opStart,
  });
  const invoice = await createInvoice(db, contract, {
    subscriberKey: subscription.subscriberKey,
    subscriptionId: subscription.id,
    total: "40.00",
    period: "2025-02",
    issueDate: "2025-02-01",
  });
  const [run] = await db
    .insert(billingRuns)
    .values({
      contractId: contract.id,
      period: "2025-02",
      requestedByOrgId: world.enterprise.org.id,
      invoicesCreated: 1,
      totalAmount: "40.00",
    })
    .returning();
  const [payment] = await db
    .insert(payments)
    .values({
      invoiceId: invoice.id,
      contractId: contract.id,
      enterpriseOrgId: contract.enterpriseOrgId,
      subscriberKey: subscription.subscriberKey,
      amount: "10.00",
      appliedAmount: "10.00",
      method: "wechat",
      externalRef: "WX-FIXTURE-0001",
      receivedOn: "2025-02-20",
    })
    .returning();
  if (!run || !payment) throw new Error("fixture: the run or payment insert returned nothing");
  await db
    .update(invoices)
    .set({ billingRunId: run.id, paidAmount: "10.00" })
    .where(eq(invoices.id, invoice.id));
  const creditNote = await createCreditNoteRecord(db, contract, {
    subscriberKey: subscription.subscriberKey,
    amount: "20.00",
  });
  const [refund] = await db
    .insert(refunds)
    .values({
      creditNoteId: creditNote.id,
      amount: "5.00",
      method: "cash",
      externalRef: "CASH-FIXTURE-0001",
      paidOn: "2025-02-25",
    })
    .returning();
  if (!refund) throw new Error("fixture: the refund insert returned nothing");
  await db.update(creditNotes).set({ remaining: "15.00" }).where(eq(creditNotes.id, creditNote.id));
  const firstMonth = periodOf(opStart);
  const report = (period: string, status: "submitted" | "queried") => ({
    contractId: contract.id,
    period,
    versionNo: 1,
    status,
    figures: REPORT_FIGURES,
    submittedByOrgId: world.enterprise.org.id,
    ...(status === "queried"
      ? { reviewedByOrgId: world.ownersCommittee.org.id, reviewedAt: new Date("2025-02-25T02:00:00Z") }
      : {}),
  });
  const [submitted, queried] = await db
    .insert(operationReports)
    .values([report(firstMonth, "submitted"), report(addPeriods(firstMonth, 1), "queried")])
    .returning();
  if (!submitted || !queried) throw new Error("fixture: the report insert returned nothing");
  await db.insert(reportComments).values({
    reportId: queried.id,
    authorOrgId: world.ownersCommittee.org.id,
    body: "维保费用偏高，请附发票",
  });
  await db.insert(financialAssumptions).values({
    contractId: contract.id,
    assumptions: FINANCIAL_ASSUMPTIONS,
    updatedByOrgId: world.enterprise.org.id,
  });
  const ledger: Ledger = {
    householdId: household.id,
    subscriberKey: subscription.subscriberKey,
    freeHouseholdId: free.id,
    subscriptionId: subscription.id,
    invoiceId: invoice.id,
    billingRunId: run.id,
    paymentId: payment.id,
    creditNoteId: creditNote.id,
    refundId: refund.id,
    submittedReportId: submitted.id,
    queriedReportId: queried.id,
  };
  return { ...fx, ledger };
}

/**
 * A sensor the enterprise registers (through the API, which answers its key) on an elevator it
 * operates, and an open e-bike incident of that sensor (written directly: how events become
 * incidents is the ingest's business, not the matrix's).
 */
export async function addSensor(db: Database, app: TestApp, fx: Fixture): Promise<Fixture> {
  const { world } = fx;
  const elevator = await createFacility(db, {
    kind: "elevator",
    streetId: world.street.id,
    communityId: world.community.id,
    buildingId: world.building.id,
    operatorOrgId: world.enterprise.org.id,
  });
  const registered = await expectStatus(
    "registering a sensor",
    client(app, world.enterprise.key).post("/v1/sensors", { facilityId: elevator.id, name: "轿厢AI摄像头" }),
    201,
  );
  const sensor = registered.body as { id: string; key: string };
  const [incident] = await db
    .insert(incidents)
    .values({
      kind: "ebike",
      sensorId: sensor.id,
      facilityId: elevator.id,
      communityId: world.community.id,
      streetId: world.street.id,
      openedAt: new Date("2025-02-28T12:00:00Z"),
      detections: 1,
    })
    .returning();
  if (!incident) throw new Error("fixture: the incident insert returned nothing");
  // The detection that opened it, with its snapshot (what the snapshot routes read).
  const snapshotEventId = `fx-detected-${sensor.id.slice(0, 8)}`;
  await db.insert(sensorEvents).values({
    sensorId: sensor.id,
    eventId: snapshotEventId,
    facilityId: elevator.id,
    type: "ebike_detected",
    occurredAt: incident.openedAt,
    receivedAt: incident.openedAt,
    payload: {
      eventId: snapshotEventId,
      type: "ebike_detected",
      occurredAt: incident.openedAt.toISOString(),
    },
  });
  await db.insert(eventSnapshots).values({
    sensorId: sensor.id,
    eventId: snapshotEventId,
    byteSize: FIXTURE_JPEG.length,
    sha256: "0".repeat(64),
    bytes: FIXTURE_JPEG,
    receivedAt: incident.openedAt,
  });
  const [command] = await db
    .insert(deviceCommands)
    .values({
      sensorId: sensor.id,
      facilityId: elevator.id,
      communityId: world.community.id,
      streetId: world.street.id,
      type: "release",
      reason: "false alarm",
      incidentId: incident.id,
      issuedAt: new Date("2025-02-28T12:01:00Z"),
      expiresAt: new Date("2099-01-01T00:00:00Z"),
      issuedByOrgId: world.propertyCompany.org.id,
    })
    .returning();
  if (!command) throw new Error("fixture: the command insert returned nothing");
  return {
    ...fx,
    sensor: {
      id: sensor.id,
      key: sensor.key,
      elevatorId: elevator.id,
      incidentId: incident.id,
      commandId: command.id,
      snapshotEventId,
    },
  };
}

/**
 * A webhook endpoint of the world's property company and one delivered notification of it
 * (written directly: the matrix checks who may reach them, the notifications tests the rest).
 */
export async function addEndpoint(db: Database, fx: Fixture): Promise<Fixture> {
  const [endpoint] = await db
    .insert(notificationEndpoints)
    .values({
      organizationId: fx.world.propertyCompany.org.id,
      name: "物业值班群",
      channel: "webhook",
      url: "https://hooks.example.com/property",
      secret: generateWebhookSecret(),
    })
    .returning();
  if (!endpoint) throw new Error("fixture: the endpoint insert returned nothing");
  await db.insert(notificationRules).values({ endpointId: endpoint.id, type: "ebike_halt_opened" });
  const at = new Date("2025-02-28T12:00:00Z");
  const [delivery] = await db
    .insert(notifications)
    .values({
      endpointId: endpoint.id,
      type: "test_ping",
      dedupeKey: `test:${endpoint.id}`,
      payload: { endpointId: endpoint.id, requestedBy: null },
      state: "delivered",
      attempts: 1,
      nextAttemptAt: at,
      retryUntil: new Date(at.getTime() + 24 * 3600 * 1000),
      deliveredAt: at,
      createdAt: at,
    })
    .returning();
  if (!delivery) throw new Error("fixture: the notification insert returned nothing");
  await db.insert(notificationAttempts).values({
    notificationId: delivery.id,
    endpointId: endpoint.id,
    attempt: 1,
    startedAt: at,
    durationMs: 12,
    httpStatus: 200,
    ok: true,
  });
  return { ...fx, endpoint: { id: endpoint.id, deliveryId: delivery.id } };
}

/**
 * Drafts the world's elevator contract through the API (with `draft`'s fields over the defaults)
 * and drives it to `state`, each step by the party that takes it. Returns the contract's id.
 */
export async function driveContract(
  world: World,
  app: TestApp,
  state: FixtureState,
  draft: Record<string, unknown> = {},
): Promise<string> {
  const enterprise = client(app, world.enterprise.key);
  const committee = client(app, world.ownersCommittee.key);
  const property = client(app, world.propertyCompany.key);
  const office = client(app, world.streetOffice.key);
  const reached = (s: FixtureState) => STEPS.indexOf(state) >= STEPS.indexOf(s);

  const drafted = await expectStatus(
    "drafting",
    enterprise.post("/v1/contracts", {
      title: "国伟新苑加装电梯BOT合同",
      communityId: world.community.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      streetOfficeOrgId: world.streetOffice.org.id,
      facilityIds: [world.elevator.id],
      terms: elevatorTerms(),
      ...draft,
    }),
    201,
  );
  const id = (drafted.body as { id: string }).id;
  const step = (what: string, api: Api, path: string, body: unknown, status = 200) =>
    expectStatus(what, api.post(`/v1/contracts/${id}${path}`, body), status);

  if (!reached("submitted")) return id;
  const submitted = await step("submit", enterprise, "/submit", {});
  // Each later step is dated the day its predecessor happened on the app's clock (fixed for the
  // matrix, the real one for the Workers test): votes follow the submission, milestones the signature.
  const dayOf = (instant: string) => shanghaiDate(new Date(instant));
  const submittedOn = dayOf(
    (submitted.body as { currentVersion: { submittedAt: string } }).currentVersion.submittedAt,
  );
  if (state === "submitted") return id;
  if (state === "changes_requested") {
    await step("request changes", committee, "/request-changes", { reason: "请调整6楼价格" });
    return id;
  }
  await step(
    "vote",
    committee,
    "/votes",
    {
      heldOn: submittedOn,
      participatingArea: "720.00",
      participatingOwners: 12,
      yesArea: "720.00",
      yesOwners: 12,
    },
    201,
  );
  if (state === "voted") return id;
  await step("approve", committee, "/approve", {});
  if (state === "approved") return id;
  let signature: Awaited<ReturnType<typeof step>> | undefined;
  for (const [party, api] of [
    ["enterprise", enterprise],
    ["property company", property],
    ["street office", office],
    ["owners committee", committee],
  ] as const) {
    signature = await step(`${party} signs`, api, "/sign", {});
  }
  if (state === "signed") return id;
  if (!signature) throw new Error("fixture: nobody signed");
  const signedOn = dayOf(
    (signature.body as { currentVersion: { signedAt: string } }).currentVersion.signedAt,
  );
  const milestone = (kind: "construction_start" | "completion_acceptance" | "operation_start") => ({
    kind,
    occurredOn: signedOn,
  });
  await step("construction start", enterprise, "/milestones", milestone("construction_start"), 201);
  if (state === "construction_recorded") return id;
  await step("confirm construction start", committee, "/milestones/construction_start/confirm", {});
  for (const kind of ["completion_acceptance", "operation_start"] as const) {
    await step(kind, enterprise, "/milestones", milestone(kind), 201);
    await step(`confirm ${kind}`, committee, `/milestones/${kind}/confirm`, {});
  }
  return id;
}
