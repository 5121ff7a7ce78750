import type { z } from "@hono/zod-openapi";
import {
  AGING_BUCKETS,
  type AgingBucket,
  CONTRACT_STATES,
  type ContractState,
} from "../../../contracts/index.js";
import type { AgainstTarget, Progress, StreetDashboard, TransferDue } from "../../services/dashboard.js";
import type { Dashboard } from "./dashboard.routes.js";

type DashboardJson = z.input<typeof Dashboard>;

function progressJson(p: Progress) {
  return {
    retrofitted: p.retrofitted,
    underConstruction: p.underConstruction,
    planned: p.planned,
    decommissioned: p.decommissioned,
    total: p.total,
    notRetrofitted: p.notRetrofitted,
  };
}

function againstTargetJson(p: AgainstTarget) {
  return { ...progressJson(p), target: p.target, toTarget: p.toTarget };
}

function transferJson(t: TransferDue): DashboardJson["transfersDue"]["items"][number] {
  return {
    contractId: t.contractId,
    title: t.title,
    communityId: t.communityId,
    state: t.state,
    transferDate: t.transferDate,
    transferDueInDays: t.daysUntilTransfer,
    overdue: t.overdue,
  };
}

/** The dashboard as the API shows it: each field named, so nothing undocumented is sent. */
export function dashboardJson(d: StreetDashboard): DashboardJson {
  const { garages } = d.facilities;
  return {
    streetId: d.streetId,
    streetName: d.streetName,
    today: d.today,
    facilities: {
      elevators: againstTargetJson(d.facilities.elevators),
      garages: {
        ...againstTargetJson(garages),
        bySize: { large: progressJson(garages.bySize.large), mini: progressJson(garages.bySize.mini) },
      },
    },
    guidanceFunds: {
      committed: d.guidanceFunds.committed,
      paid: d.guidanceFunds.paid,
      remaining: d.guidanceFunds.remaining,
    },
    contractsByState: Object.fromEntries(CONTRACT_STATES.map((s) => [s, d.contractsByState[s]])) as Record<
      ContractState,
      number
    >,
    transfersDue: {
      until: d.transfersDue.until,
      total: d.transfersDue.count,
      overdue: d.transfersDue.overdue,
      items: d.transfersDue.items.map(transferJson),
    },
    receivables: {
      outstanding: d.receivables.outstanding,
      overdue: d.receivables.overdue,
      invoicesOutstanding: d.receivables.invoicesOutstanding,
      invoicesOverdue: d.receivables.invoicesOverdue,
      aging: Object.fromEntries(AGING_BUCKETS.map((b) => [b, d.receivables.aging[b]])) as Record<
        AgingBucket,
        string
      >,
    },
    incidents: {
      from: d.incidents.from,
      to: d.incidents.to,
      monitoredElevators: d.incidents.monitoredElevators,
      ebikeIncidents: d.incidents.ebikeIncidents,
      halts: d.incidents.halts,
      perElevatorPerMonth: d.incidents.perElevatorPerMonth,
      falseAlarms: d.incidents.falseAlarms,
      classified: d.incidents.classified,
      falseAlarmRate: d.incidents.falseAlarmRate,
    },
  };
}
