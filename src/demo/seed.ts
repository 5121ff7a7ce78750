/**
 * The demo: Yinhang street's data (db/seed.ts) and the BOT contracts of Guowei Xinyuan, one in
 * each state of the lifecycle, made through the API itself so that versions, votes, signatures,
 * hashes and the audit chain are exactly what the real lifecycle writes.
 *
 * Seeded once into an empty database. The demo keys are kept in a file beside the data (mode
 * 0600) so later starts can print them again; the database holds only their hashes.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import {
  addDays,
  addPeriods,
  type ContractTerms,
  periodEnd,
  periodOf,
  periodStart,
  shanghaiDate,
} from "../../contracts/index.js";
import type { Database } from "../../db/database.js";
import { queryRows } from "../../db/database.js";
import { hashKey } from "../../db/keys.js";
import { people } from "../../db/schema.js";
import { type DemoScene, findDemoStreet, seedDemoData } from "../../db/seed.js";
import { createApp } from "../app.js";
import { createKeyCache } from "../auth/key-cache.js";
import { hashPassword } from "../auth/passwords.js";
import { issueLink } from "../services/household-links.js";

export interface DemoSeed {
  created: boolean;
  householdLink?: string;
  keys: Record<string, string>;
  /** A person of each demo organization, to sign in to the portal with. */
  signIns: Record<string, DemoSignIn>;
}

export interface DemoSignIn {
  name: string;
  login: string;
  password: string;
}

/** What the demo file beside the data holds (mode 0600): only hashes are in the database. */
interface DemoFile {
  keys: Record<string, string>;
  signIns: Record<string, DemoSignIn>;
  /** The path of a household link (a resident's page) of a household with bills, some unpaid. */
  householdLink?: string;
}

/** The demo's people: one admin of each organization, by the keys' labels. */
const DEMO_PEOPLE: Record<string, string> = {
  owners_committee: "王秀英",
  property_company: "张建华",
  street_office: "刘芳",
  enterprise: "陈志强",
  garage_enterprise: "周敏",
};

function readDemoFile(text: string): DemoFile {
  const parsed = JSON.parse(text) as Partial<DemoFile> & Record<string, unknown>;
  // A data directory of an earlier version holds the keys alone.
  if (parsed.keys && typeof parsed.keys === "object") {
    return {
      keys: parsed.keys,
      signIns: parsed.signIns ?? {},
      ...(parsed.householdLink ? { householdLink: parsed.householdLink } : {}),
    };
  }
  return { keys: parsed as Record<string, string>, signIns: {} };
}

/**
 * A household link, issued by the property company as its staff would, for the household with
 * the most left unpaid (the most telling resident's page).
 */
async function seedDemoHouseholdLink(
  db: Database,
  propertyCompanyKey: string | undefined,
  communityId: string,
) {
  if (!propertyCompanyKey) return undefined;
  const principal = await createKeyCache().resolve(db, hashKey(propertyCompanyKey));
  if (!principal) return undefined;
  const [household] = await queryRows<{ id: string }>(
    db,
    // The demo community's households only: the database may hold other streets' too.
    sql`select i.household_id as id from invoices i join contracts c on c.id = i.contract_id
        where i.household_id is not null and c.community_id = ${communityId}
        group by i.household_id order by sum(i.total - i.paid_amount) desc, i.household_id limit 1`,
  );
  if (!household) return undefined;
  const issued = await issueLink({ db, clock: () => new Date(), principal }, household.id);
  return `/h/${issued.token}`;
}

async function seedDemoPeople(db: Database, scene: DemoScene): Promise<Record<string, DemoSignIn>> {
  const organizationOf: Record<string, string> = {
    owners_committee: scene.parties.ownersCommittee.id,
    property_company: scene.parties.propertyCompany.id,
    street_office: scene.parties.streetOffice.id,
    enterprise: scene.parties.enterprise.id,
    garage_enterprise: scene.parties.garageOperator.id,
  };
  const signIns: Record<string, DemoSignIn> = {};
  for (const [label, name] of Object.entries(DEMO_PEOPLE)) {
    const organizationId = organizationOf[label];
    if (!organizationId) continue;
    // Four groups of a base32 alphabet without look-alikes: easy to type from the terminal.
    const password = Array.from({ length: 4 }, () =>
      Array.from(randomBytes(4), (b) => "abcdefghjkmnpqrstuvwxyz23456789"[b % 31]).join(""),
    ).join("-");
    const login = `${label.replace("_", "-")}@demo.bot`;
    await db.insert(people).values({
      organizationId,
      name,
      login,
      passwordHash: await hashPassword(password),
      role: "admin",
    });
    signIns[label] = { name, login, password };
  }
  return signIns;
}

export async function seedDemoOnce(
  db: Database,
  opts: { keysFile: string; logger: Logger },
): Promise<DemoSeed> {
  if (await findDemoStreet(db)) {
    const file = await readFile(opts.keysFile, "utf8").then(readDemoFile, () => ({
      keys: { note: "demo keys file missing: issue new keys with POST /v1/organizations/{id}/keys" },
      signIns: {},
    }));
    return { created: false, ...file };
  }
  const scene = await db.transaction((tx) => seedDemoData(tx));
  try {
    await seedDemoContracts(db, scene, opts.logger);
  } catch (err) {
    throw new Error(
      `the demo contracts could not be seeded (${err instanceof Error ? err.message : String(err)}); delete the data directory and start again`,
    );
  }
  const signIns = await seedDemoPeople(db, scene);
  const householdLink = await seedDemoHouseholdLink(db, scene.keys.property_company, scene.community.id);
  const file: DemoFile = { keys: scene.keys, signIns, ...(householdLink ? { householdLink } : {}) };
  await writeFile(opts.keysFile, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  return { created: true, ...file };
}

/** Terms of an added elevator: higher floors pay more, the ground floor nothing. */
function elevatorTerms(): ContractTerms {
  return {
    totalInvestment: "650000.00",
    enterpriseCapital: "552500.00",
    guidanceFunds: "97500.00",
    operationTermMonths: 90,
    handbackConditions: [
      { code: "INSPECTION", description: "特种设备定期检验合格，检验合格证在有效期内" },
      { code: "MAINT-RECORDS", description: "运营期维保记录、故障记录完整移交业委会" },
      { code: "SPARE-PARTS", description: "随机备品备件及钥匙清点移交" },
    ],
    maintenanceObligations:
      "运营期内企业承担全部维保费用：每半月例行保养一次，24小时应急救援响应不超过30分钟。",
    feeSchedule: [
      {
        code: "EL-M",
        name: "电梯使用费（包月）",
        kind: "monthly",
        price: "0.00",
        unit: "household",
        floorPrices: [
          { floor: 2, price: "20.00" },
          { floor: 3, price: "35.00" },
          { floor: 4, price: "50.00" },
          { floor: 5, price: "60.00" },
          { floor: 6, price: "70.00" },
        ],
      },
      {
        code: "EL-Y",
        name: "电梯使用费（包年）",
        kind: "yearly",
        price: "0.00",
        unit: "household",
        floorPrices: [
          { floor: 2, price: "220.00" },
          { floor: 3, price: "380.00" },
          { floor: 4, price: "540.00" },
          { floor: 5, price: "650.00" },
          { floor: 6, price: "760.00" },
        ],
      },
    ],
  };
}

function garageTerms(): ContractTerms {
  return {
    totalInvestment: "1200000.00",
    enterpriseCapital: "1020000.00",
    guidanceFunds: "180000.00",
    operationTermMonths: 84,
    handbackConditions: [
      { code: "FIRE-SAFETY", description: "消防设施检测合格，烟感与喷淋完好" },
      { code: "CHARGERS", description: "充电桩完好率不低于95%" },
    ],
    maintenanceObligations: "企业负责车库门禁、监控、充电桩及消防设施的日常维护，充电桩故障48小时内修复。",
    feeSchedule: [
      { code: "GR-M", name: "停车费（包月）", kind: "monthly", price: "15.00", unit: "slot" },
      { code: "GR-Y", name: "停车费（包年）", kind: "yearly", price: "150.00", unit: "slot" },
      { code: "GR-KWH", name: "充电费", kind: "per_use", price: "1.20", unit: "kWh" },
    ],
  };
}

/** The stage a demo contract is left at. */
type Stage = "draft" | "submitted" | "approved" | "signed" | "under_construction" | "operating";
const STAGES: Stage[] = ["draft", "submitted", "approved", "signed", "under_construction", "operating"];

async function seedDemoContracts(db: Database, scene: DemoScene, logger: Logger) {
  // The demo's history (bills of past months, payments) is written with the clock set back to
  // when it happened; everything else happens now.
  const realNow = new Date();
  let now = realNow;
  const app = createApp({
    db,
    logger: logger.child({ seed: "demo" }, { level: "warn" }),
    clock: () => now,
  });
  const { keys, parties, community } = scene;
  const call = async (key: string | undefined, method: string, path: string, body?: unknown) => {
    const res = await app.request(`/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the seed reads the few fields it needs
    const json = (await res.json()) as any;
    if (res.status >= 300)
      throw new Error(
        `${method} ${path}: ${res.status} ${json.detail ?? ""} ${JSON.stringify(json.errors ?? "")}`,
      );
    return json;
  };
  const at = (date: string) => {
    now = new Date(`${date}T02:00:00Z`); // 10:00 in Shanghai
  };
  const daysAgo = (n: number) => addDays(shanghaiDate(realNow), -n);
  /** The contracts still on their way: voted a hundred days ago, building for the last three months. */
  const recent = {
    vote: daysAgo(100),
    construction: daysAgo(94),
    completion: daysAgo(33),
    operation: daysAgo(19),
  };
  const so = keys.street_office;
  const oc = keys.owners_committee;
  const pc = keys.property_company;

  const driveSteps = async (
    enterpriseKey: string | undefined,
    stage: Stage,
    contract: { title: string; facilityIds: string[]; terms: ContractTerms },
    dates: { vote: string; construction: string; completion: string; operation: string },
  ) => {
    // Each step happens on its own day (the rules check that votes follow the submission and
    // milestones the signature): submitted two weeks before the vote, signed on the vote's day.
    at(addDays(dates.vote, -14));
    const { id } = await call(enterpriseKey, "POST", "/contracts", {
      ...contract,
      communityId: community.id,
      ownersCommitteeOrgId: parties.ownersCommittee.id,
      propertyCompanyOrgId: parties.propertyCompany.id,
      streetOfficeOrgId: parties.streetOffice.id,
    });
    const reached = (s: Stage) => STAGES.indexOf(stage) >= STAGES.indexOf(s);
    if (!reached("submitted")) return id;
    await call(enterpriseKey, "POST", `/contracts/${id}/submit`);
    await call(oc, "POST", `/contracts/${id}/comments`, { body: "请说明维保单位资质及应急响应安排。" });
    if (!reached("approved")) return id;
    at(dates.vote);
    // 120 of 144 owners (8,600 m² of 10,292.40 m²) took part; 100 owners (7,300 m²) said yes.
    await call(oc, "POST", `/contracts/${id}/votes`, {
      heldOn: dates.vote,
      participatingArea: "8600.00",
      participatingOwners: 120,
      yesArea: "7300.00",
      yesOwners: 100,
    });
    await call(oc, "POST", `/contracts/${id}/approve`);
    if (!reached("signed")) {
      await call(enterpriseKey, "POST", `/contracts/${id}/sign`);
      return id;
    }
    for (const key of [enterpriseKey, pc, so, oc]) await call(key, "POST", `/contracts/${id}/sign`);
    if (!reached("under_construction")) return id;
    at(dates.construction);
    await call(enterpriseKey, "POST", `/contracts/${id}/milestones`, {
      kind: "construction_start",
      occurredOn: dates.construction,
    });
    await call(oc, "POST", `/contracts/${id}/milestones/construction_start/confirm`);
    if (!reached("operating")) return id;
    at(dates.completion);
    await call(enterpriseKey, "POST", `/contracts/${id}/milestones`, {
      kind: "completion_acceptance",
      occurredOn: dates.completion,
    });
    await call(oc, "POST", `/contracts/${id}/milestones/completion_acceptance/confirm`);
    at(dates.operation);
    await call(enterpriseKey, "POST", `/contracts/${id}/milestones`, {
      kind: "operation_start",
      occurredOn: dates.operation,
    });
    await call(oc, "POST", `/contracts/${id}/milestones/operation_start/confirm`);
    return id;
  };
  const drive = async (...args: Parameters<typeof driveSteps>) => {
    try {
      return await driveSteps(...args);
    } finally {
      now = realNow;
    }
  };

  // Six added elevators, one per building: operating, under construction, signed, approved
  // (signed by the enterprise only), submitted, and a draft.
  const elevatorStages: Stage[] = [
    "operating",
    "under_construction",
    "signed",
    "approved",
    "submitted",
    "draft",
  ];
  let operatingElevator: string | undefined;
  for (const [i, stage] of elevatorStages.entries()) {
    const elevator = scene.elevators[i];
    if (!elevator) continue;
    const id = await drive(
      keys.enterprise,
      stage,
      { title: `国伟新苑${i + 1}号楼加装电梯BOT合同`, facilityIds: [elevator.id], terms: elevatorTerms() },
      stage === "operating"
        ? {
            vote: "2019-03-16",
            construction: "2019-06-10",
            completion: "2019-11-20",
            operation: "2019-12-01",
          }
        : recent,
    );
    if (stage === "operating") operatingElevator = id;
  }
  // The two large garages, retrofitted and operating since 2020 under one garage contract.
  const [first, second] = scene.garages;
  let garageContract: string | undefined;
  if (first && second) {
    garageContract = await drive(
      keys.garage_enterprise,
      "operating",
      {
        title: "国伟新苑非机动车库智能化改造BOT合同",
        facilityIds: [first.id, second.id],
        terms: garageTerms(),
      },
      { vote: "2019-03-16", construction: "2019-08-01", completion: "2019-12-20", operation: "2020-01-15" },
    );
  }

  // ---- residents' fees on the operating contracts: the last three months ---------------------
  const today = shanghaiDate(realNow);
  const periods = [3, 2, 1].map((n) => addPeriods(periodOf(today), -n));
  const firstOf = (p: string) => periodStart(p);
  const block1 = scene.buildings[0];
  if (operatingElevator && block1) {
    await call(so, "POST", `/contracts/${operatingElevator}/guidance-disbursements`, {
      amount: "97500.00",
      paidOn: "2019-12-10",
      note: "财政引导资金一次拨付",
    });
    // Building 1's households above the ground floor: most monthly (包月), a few yearly (包年).
    const register = await call(so, "GET", `/buildings/${block1.id}/households?limit=50`);
    const homes = (register.items as { id: string; floor: number }[]).filter((h) => h.floor >= 2);
    at(firstOf(periods[0] ?? today));
    for (const [i, home] of homes.entries()) {
      await call(keys.enterprise, "POST", `/contracts/${operatingElevator}/subscriptions`, {
        householdId: home.id,
        feeCode: i % 5 === 0 ? "EL-Y" : "EL-M",
        startDate: firstOf(periods[0] ?? today),
      });
    }
    await billAndCollect(operatingElevator, keys.enterprise);
  }
  if (garageContract) {
    at(firstOf(periods[0] ?? today));
    for (let slot = 1; slot <= 12; slot++) {
      await call(keys.garage_enterprise, "POST", `/contracts/${garageContract}/subscriptions`, {
        slotRef: `G1-${String(slot).padStart(3, "0")}`,
        feeCode: slot % 4 === 0 ? "GR-Y" : "GR-M",
        startDate: firstOf(periods[0] ?? today),
      });
    }
    // Charging sessions of the last month, billed by kWh.
    const last = periods[2] ?? today;
    at(periodEnd(last));
    await call(
      keys.garage_enterprise,
      "POST",
      `/contracts/${garageContract}/usage`,
      Array.from({ length: 24 }, (_, i) => ({
        sessionId: `chg-${last}-${i + 1}`,
        slotRef: `G1-${String((i % 12) + 1).padStart(3, "0")}`,
        kind: "charging",
        feeCode: "GR-KWH",
        startedAt: `${last}-${String((i % 27) + 1).padStart(2, "0")}T20:${String(i).padStart(2, "0")}:00+08:00`,
        quantity: (1.5 + (i % 5) * 0.75).toFixed(3),
      })),
    );
    await billAndCollect(garageContract, keys.garage_enterprise);
  }
  now = realNow;

  /**
   * Bills each of the three months on its first day; payments come in over the following days:
   * the oldest month fully paid, the next with a few households in arrears, the last half paid.
   */
  async function billAndCollect(contractId: string, key: string | undefined) {
    for (const [n, period] of periods.entries()) {
      at(firstOf(period));
      await call(key, "POST", `/contracts/${contractId}/billing-runs`, { period });
      const invoices = await call(key, "GET", `/contracts/${contractId}/invoices?period=${period}&limit=200`);
      at(addDays(firstOf(period), 10));
      for (const [i, invoice] of (
        invoices.items as { id: string; number: string; outstanding: string }[]
      ).entries()) {
        const pays = n === 0 || (n === 1 && i % 7 !== 3) || (n === 2 && i % 2 === 0);
        if (!pays || invoice.outstanding === "0.00") continue;
        await call(key, "POST", `/invoices/${invoice.id}/payments`, {
          amount: invoice.outstanding,
          method: i % 3 === 0 ? "alipay" : "wechat",
          externalRef: `demo-${invoice.number}`,
          receivedOn: addDays(firstOf(period), 3 + (i % 6)),
        });
      }
    }
  }
}

/** What `npm start` and `npm run db:seed` print: the demo keys and sign-ins, and where they are kept. */
export function describeDemo(demo: DemoSeed, dataDir: string, port: number): string {
  const keyLines = Object.entries(demo.keys).map(([who, key]) => `  ${who.padEnd(22)} ${key}`);
  const signInLines = Object.entries(demo.signIns).map(
    ([who, p]) => `  ${who.padEnd(22)} ${p.login.padEnd(30)} ${p.password}   (${p.name})`,
  );
  return [
    demo.created ? "Demo data seeded (Yinhang street, Guowei Xinyuan). Demo API keys:" : "Demo API keys:",
    ...keyLines,
    `(use one as: Authorization: Bearer <key>)`,
    ...(demo.householdLink
      ? [`Demo household link (a resident's page, no account): http://localhost:${port}${demo.householdLink}`]
      : []),
    ...(signInLines.length
      ? [
          `Demo sign-ins for the portal at http://localhost:${port}/sign-in (login, password):`,
          ...signInLines,
        ]
      : []),
    `(kept in ${join(dataDir, "demo-keys.json")})`,
  ].join("\n");
}
