/**
 * Rows for the residents'-fees read side, written directly so these suites do not depend on the
 * billing and payment routes: contracts already signed (version 1 with its fee items), invoices
 * with their lines, payments, usage records, sensors, incidents.
 */
import { randomUUID } from "node:crypto";
import { Decimal } from "decimal.js";
import type { ContractTerms } from "../../contracts/index.js";
import type { Database } from "../../db/database.js";
import { generateKey } from "../../db/keys.js";
import {
  contractFacilities,
  contracts,
  contractVersions,
  feeItems,
  incidents,
  invoiceLines,
  invoices,
  payments,
  sensorEvents,
  sensors,
  usageRecords,
} from "../../db/schema.js";
import type { World } from "../support/factories.js";

function one<T>(rows: T[]): T {
  const [row] = rows;
  if (!row) throw new Error("insert returned no row");
  return row;
}

type ContractState = (typeof contracts.$inferInsert)["state"];
const SIGNED_STATES = ["signed", "under_construction", "operating", "transferred", "terminated"];

/**
 * A contract of the world's parties (street office included) over `facilityIds` with version 1
 * holding `terms`: signed and in force for signed+ states, else in the status of the state.
 */
export async function createContractWithTerms(
  db: Database,
  world: World,
  opts: {
    terms: ContractTerms;
    state: NonNullable<ContractState>;
    facilityIds?: string[];
    operationStartDate?: string | null;
    transferDate?: string | null;
    transferredOn?: string | null;
    title?: string;
  },
) {
  const signed = SIGNED_STATES.includes(opts.state);
  const contract = one(
    await db
      .insert(contracts)
      .values({
        title: opts.title ?? `合同 ${randomUUID().slice(0, 8)}`,
        streetId: world.street.id,
        communityId: world.community.id,
        enterpriseOrgId: world.enterprise.org.id,
        ownersCommitteeOrgId: world.ownersCommittee.org.id,
        propertyCompanyOrgId: world.propertyCompany.org.id,
        streetOfficeOrgId: world.streetOffice.org.id,
        state: opts.state,
        signedVersionNo: signed ? 1 : null,
        operationStartDate: opts.operationStartDate ?? null,
        transferDate: opts.transferDate ?? null,
        transferredOn: opts.transferredOn ?? null,
      })
      .returning(),
  );
  const t = opts.terms;
  const version = one(
    await db
      .insert(contractVersions)
      .values({
        contractId: contract.id,
        versionNo: 1,
        status: signed ? "signed" : opts.state === "draft" ? "draft" : "submitted",
        totalInvestment: t.totalInvestment,
        enterpriseCapital: t.enterpriseCapital,
        guidanceFunds: t.guidanceFunds,
        operationTermMonths: t.operationTermMonths,
        maintenanceObligations: t.maintenanceObligations,
        handbackConditions: t.handbackConditions,
      })
      .returning(),
  );
  if (t.feeSchedule.length) {
    await db.insert(feeItems).values(
      t.feeSchedule.map((item, position) => ({
        versionId: version.id,
        position,
        code: item.code,
        name: item.name,
        kind: item.kind,
        unit: item.unit,
        price: item.price,
        floorPrices: item.floorPrices?.length
          ? item.floorPrices.map((fp) => ({ floor: fp.floor, price: new Decimal(fp.price).toFixed(2) }))
          : null,
      })),
    );
  }
  const facilityIds = opts.facilityIds ?? [world.elevator.id];
  if (facilityIds.length) {
    await db
      .insert(contractFacilities)
      .values(facilityIds.map((facilityId) => ({ contractId: contract.id, facilityId })));
  }
  return contract;
}

/** An invoice of `period` with one line per entry (quantity 1 × the amount unless given). */
export async function createInvoiceRow(
  db: Database,
  contract: { id: string; streetId: string; communityId: string; enterpriseOrgId: string },
  opts: {
    period: string;
    lines: { code: string; amount: string; quantity?: string; unitPrice?: string }[];
    issueDate?: string;
    dueDate: string;
    paidAmount?: string;
    creditApplied?: string;
    subscriberKey?: string;
  },
) {
  let total = new Decimal(0);
  for (const l of opts.lines) total = total.plus(l.amount);
  const invoice = one(
    await db
      .insert(invoices)
      .values({
        number: `T-${randomUUID()}`,
        enterpriseOrgId: contract.enterpriseOrgId,
        contractId: contract.id,
        streetId: contract.streetId,
        communityId: contract.communityId,
        subscriberKey: opts.subscriberKey ?? `slot:${randomUUID().slice(0, 8)}`,
        kind: "usage",
        period: opts.period,
        issueDate: opts.issueDate ?? `${opts.period}-01`,
        dueDate: opts.dueDate,
        total: total.toFixed(2),
        creditApplied: opts.creditApplied ?? "0",
        paidAmount: opts.paidAmount ?? "0",
      })
      .returning(),
  );
  await db.insert(invoiceLines).values(
    opts.lines.map((l, i) => ({
      invoiceId: invoice.id,
      lineNo: i + 1,
      code: l.code,
      description: l.code,
      quantity: l.quantity ?? "1",
      unitPrice: l.unitPrice ?? l.amount,
      amount: l.amount,
    })),
  );
  return invoice;
}

export async function createPaymentRow(
  db: Database,
  invoice: { id: string; contractId: string; enterpriseOrgId: string; subscriberKey: string },
  opts: { amount: string; receivedOn: string },
) {
  return one(
    await db
      .insert(payments)
      .values({
        invoiceId: invoice.id,
        contractId: invoice.contractId,
        enterpriseOrgId: invoice.enterpriseOrgId,
        subscriberKey: invoice.subscriberKey,
        amount: opts.amount,
        appliedAmount: opts.amount,
        method: "wechat",
        externalRef: `ref-${randomUUID()}`,
        receivedOn: opts.receivedOn,
      })
      .returning(),
  );
}

export async function createUsageRow(
  db: Database,
  contractId: string,
  opts: { kind: "ride" | "charging"; feeCode: string; startedAt: string; period: string; quantity: string },
) {
  return one(
    await db
      .insert(usageRecords)
      .values({
        contractId,
        sessionId: randomUUID(),
        subscriberKey: `slot:${randomUUID().slice(0, 8)}`,
        kind: opts.kind,
        feeCode: opts.feeCode,
        startedAt: new Date(opts.startedAt),
        period: opts.period,
        quantity: opts.quantity,
      })
      .returning(),
  );
}

/** A sensor of the world's enterprise in an elevator. */
export async function createSensorRow(db: Database, world: World, facilityId: string) {
  const issued = generateKey("sensor");
  return one(
    await db
      .insert(sensors)
      .values({
        facilityId,
        streetId: world.street.id,
        communityId: world.community.id,
        enterpriseOrgId: world.enterprise.org.id,
        name: `sensor ${issued.prefix}`,
        keyHash: issued.hash,
        keyPrefix: issued.prefix,
        brokerPasswordHash: "$7$test-only",
      })
      .returning(),
  );
}

/**
 * A closed e-bike incident of `sensor` opened at `openedAt`, lasting 60 s; `halted` adds the
 * `ebike_detected` event that reported the car halted, and the flag the ingest's replay keeps for it.
 */
export async function createIncidentRow(
  db: Database,
  sensor: { id: string; facilityId: string; communityId: string; streetId: string },
  opts: { openedAt: string; falseAlarm?: boolean; halted?: boolean; kind?: "ebike" | "sensor_offline" },
) {
  const opened = new Date(opts.openedAt);
  const closed = new Date(opened.getTime() + 60_000);
  const row = one(
    await db
      .insert(incidents)
      .values({
        kind: opts.kind ?? "ebike",
        sensorId: sensor.id,
        facilityId: sensor.facilityId,
        communityId: sensor.communityId,
        streetId: sensor.streetId,
        openedAt: opened,
        closedAt: closed,
        haltSeconds: 60,
        detections: 1,
        halted: opts.halted ?? false,
        ...(opts.falseAlarm === undefined
          ? {}
          : opts.falseAlarm
            ? { classification: "false_alarm" as const, falseAlarmReason: "stroller" as const }
            : { classification: "confirmed" as const }),
      })
      .returning(),
  );
  if (opts.halted) {
    await db.insert(sensorEvents).values({
      sensorId: sensor.id,
      eventId: randomUUID(),
      facilityId: sensor.facilityId,
      type: "ebike_detected",
      occurredAt: opened,
      receivedAt: opened,
      payload: { carHalted: true },
    });
  }
  return row;
}
