/**
 * The snapshots of an e-bike incident on the board's card: what the camera saw, so the property
 * staff can tell an e-bike from a stroller or a wheelchair before they classify it. Shown only to
 * those the permission table lets see them (the property company, the owners committee); the
 * image is the API's GET route, which the browser reads with the session cookie.
 */
import type { Context } from "hono";
import { decidePermission } from "../../../contracts/permissions.js";
import { isOrgPrincipal } from "../../auth/principal.js";
import type { IncidentRow } from "../../services/incidents/incidents.js";
import { listIncidentSnapshots } from "../../services/snapshots/snapshots.js";
import { formatInstant } from "../format.js";
import { defineMessages, translator } from "../i18n.js";
import { type PortalEnv, personContext } from "../portal-env.js";

const words = defineMessages(
  {
    heading: "抓拍",
    alt: "电动车检测抓拍，{at}",
    more: "另有 {n} 张抓拍",
  },
  {
    heading: "Snapshots",
    alt: "Snapshot of the e-bike detection at {at}",
    more: "{n} more snapshots",
  },
);

/** Pictures shown on a card at most (the first detections: the bike entering). */
const SHOWN_MAX = 2;

/**
 * Async: each card reads its own snapshots (one indexed query, for e-bike incidents and readers
 * who may see them only), so the board's page and the card the live feed fetches show the same.
 */
export async function IncidentSnapshots({ c, incident }: { c: Context<PortalEnv>; incident: IncidentRow }) {
  const principal = c.var.session?.principal;
  if (!principal || incident.kind !== "ebike") return null;
  const may = decidePermission(
    { type: "read_snapshots" },
    { role: principal.role, organization: isOrgPrincipal(principal) },
  );
  if (!may.ok) return null;
  const { items: shown, total } = await listIncidentSnapshots(personContext(c), incident.id, {
    limit: SHOWN_MAX,
    offset: 0,
  });
  if (total === 0) return null;
  const t = translator(words, c.var.lang);
  return (
    <div class="snapshots">
      <p class="hint">{t("heading")}</p>
      {shown.map((s) => {
        const url = `/v1/incidents/${incident.id}/snapshots/${encodeURIComponent(s.eventId)}`;
        const at = formatInstant(s.occurredAt, c.var.lang);
        return (
          <figure style="margin: 0 0 8px">
            <a href={url}>
              {/* 320 px wide fits a 360 px phone inside the card's padding; never wider than the card. */}
              <img
                src={url}
                alt={t("alt", { at })}
                width={320}
                height={240}
                loading="lazy"
                style="display: block; max-width: 100%; height: auto; border-radius: 4px"
              />
            </a>
            <figcaption class="hint">{at}</figcaption>
          </figure>
        );
      })}
      {total > shown.length ? <p class="hint">{t("more", { n: total - shown.length })}</p> : null}
    </div>
  );
}
