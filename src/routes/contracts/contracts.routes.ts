import { z } from "@hono/zod-openapi";
import { MILESTONE_KINDS } from "../../../contracts/index.js";
import {
  CalendarDate,
  createRoute,
  errorResponses,
  headerRef,
  IdParams,
  Int4,
  Int4Param,
  jsonBody,
  jsonResponse,
  NoBody,
  noBody,
  Page,
  PageWith,
  Pagination,
  preconditionResponses,
  security,
  Text,
  Uuid,
  withConflicts,
} from "../../openapi.js";
import {
  AuditRow,
  AuditVerdict,
  Comment,
  ContractDetail,
  ContractListQuery,
  ContractSummary,
  EditDraft,
  FieldChange,
  HandbackCheck,
  Milestone,
  NewAmendment,
  NewContract,
  Signature,
  UpcomingTransfer,
  Version,
  Vote,
  VoteInput,
} from "./contracts.schemas.js";

const tags = ["contracts"];
const VersionParams = IdParams.extend({
  versionNo: Int4Param.min(1).openapi({ param: { name: "versionNo", in: "path" } }),
});
const MilestoneKind = z.enum(MILESTONE_KINDS);
const MilestoneParams = IdParams.extend({
  kind: MilestoneKind.openapi({ param: { name: "kind", in: "path" } }),
});
const Reason = z.strictObject({ reason: Text.trim().min(1).max(2000) });

const actionWithBody = <B extends z.ZodType>(
  operationId: string,
  path: string,
  summary: string,
  description: string,
  body: B,
  required = true,
) =>
  createRoute({
    operationId,
    method: "post",
    path: `/contracts/{id}/${path}`,
    tags,
    security,
    summary,
    description,
    request: { params: IdParams, body: { ...jsonBody(body), required } },
    responses: { 200: jsonResponse(ContractDetail, "The contract after the action"), ...withConflicts },
  });

const action = (operationId: string, path: string, summary: string, description: string) =>
  actionWithBody(operationId, path, summary, description, NoBody, false);

export const createContract = createRoute({
  operationId: "createContract",
  method: "post",
  path: "/contracts",
  tags,
  security,
  summary: "Draft a contract (enterprise)",
  description:
    "The enterprise drafts a BOT contract with the community's owners committee and property company (and the street office when it contributes guidance funds) for facilities of that community. Version 1 is a draft.",
  request: { body: jsonBody(NewContract) },
  responses: {
    201: jsonResponse(ContractDetail, "Drafted"),
    ...withConflicts,
  },
});

export const listContracts = createRoute({
  operationId: "listContracts",
  method: "get",
  path: "/contracts",
  tags,
  security,
  summary: "Contracts in the caller's scope",
  description:
    "Contracts the caller is a party to (the street office: every contract of its street); filter by state, community, facility kind, or words of the title.",
  request: {
    query: ContractListQuery,
  },
  responses: {
    200: jsonResponse(
      Page(ContractSummary, "ContractPage"),
      "A page of contracts, most recently changed first (id breaks ties)",
    ),
    ...errorResponses,
  },
});

export const getContract = createRoute({
  operationId: "getContract",
  method: "get",
  path: "/contracts/{id}",
  tags,
  security,
  summary: "A contract with its current version, signatures, milestones and handback checklist",
  description:
    "The contract's state, the actions the caller may take now (`allowedActions`), its current version, signatures, milestones and handback checklist. 404 for a contract outside the caller's scope.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(ContractDetail, "The contract"), ...errorResponses },
});

export const listVersions = createRoute({
  operationId: "listContractVersions",
  method: "get",
  path: "/contracts/{id}/versions",
  tags,
  security,
  summary: "Every version of the contract, oldest first",
  description:
    "Every version of the contract (the original and its amendments), oldest first, each with its terms and state.",
  request: { params: IdParams, query: Pagination },
  responses: { 200: jsonResponse(Page(Version, "VersionPage"), "Versions by number"), ...errorResponses },
});

export const getVersion = createRoute({
  operationId: "getContractVersion",
  method: "get",
  path: "/contracts/{id}/versions/{versionNo}",
  tags,
  security,
  summary: "One version; its ETag is the draft revision",
  description:
    "One version with its terms. Its ETag is what an edit of a draft sends as If-Match; a frozen version's ETag also changes when its state does.",
  request: { params: VersionParams },
  responses: { 200: jsonResponse(Version, "The version"), ...errorResponses },
});

export const editDraft = createRoute({
  operationId: "editContractDraft",
  method: "put",
  path: "/contracts/{id}/versions/{versionNo}",
  tags,
  security,
  summary: "Edit a draft version (enterprise; If-Match required)",
  description:
    "Replaces the draft's terms. Send the version's ETag as If-Match: a stale write answers 412 and changes nothing; only drafts can be edited (409 otherwise).",
  request: {
    params: VersionParams,
    headers: z.object({
      // Required (the document says so); left out, the service answers 428 naming the current ETag.
      "if-match": z
        .string()
        .optional()
        .openapi({ description: 'The ETag from GET, e.g. "r3"', param: { required: true } }),
    }),
    body: jsonBody(EditDraft),
  },
  responses: {
    200: { ...jsonResponse(Version, "Saved"), headers: { ETag: headerRef("ETag") } },
    ...withConflicts,
    ...preconditionResponses,
  },
});

export const diffVersions = createRoute({
  operationId: "diffContractVersions",
  method: "get",
  path: "/contracts/{id}/diff",
  tags,
  security,
  summary: "Field-by-field changes between two versions",
  description:
    "What changed from version `fromVersionNo` to version `toVersionNo`, field by field (terms, fee items, handback conditions): what the owners committee reviews before it votes on an amendment. Two versions, not a range (`from`/`to` name date ranges only, docs/api.md).",
  request: {
    params: IdParams,
    query: z.object({
      fromVersionNo: Int4Param.min(1).openapi({ type: "integer", description: "The version compared from" }),
      toVersionNo: Int4Param.min(1).openapi({ type: "integer", description: "The version compared to" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({
        fromVersionNo: z.number().int(),
        toVersionNo: z.number().int(),
        changes: z.array(FieldChange),
      }),
      "The changes",
    ),
    ...errorResponses,
  },
});

export const submit = action(
  "submitContract",
  "submit",
  "Submit the draft for review (enterprise)",
  "Freezes the current draft version (it can never change again) and hands it to the owners committee.",
);
export const requestChanges = actionWithBody(
  "requestContractChanges",
  "request-changes",
  "Ask for changes (owners committee)",
  "The reason is recorded as a comment on the version.",
  Reason,
);
export const revise = action(
  "reviseContract",
  "revise",
  "Start a new draft after changes were requested (enterprise)",
  "Copies the reviewed version into a new draft version.",
);
export const approve = actionWithBody(
  "approveContract",
  "approve",
  "Approve the submitted version (owners committee)",
  "Requires a recorded owners' vote on this version that passes art. 278. A comment given with the approval is kept on the version's comments.",
  z.strictObject({
    comment: z
      .string()
      .trim()
      .min(1)
      .max(4000)
      .optional()
      .openapi({ description: "Kept as the committee's comment on the version it approves" }),
  }),
  false,
);
export const sign = action(
  "signContract",
  "sign",
  "Sign the approved version (each required party, with its own key)",
  "The contract (or amendment) is signed when every required party has signed; the version's content hash is fixed then.",
);
export const terminate = actionWithBody(
  "terminateContract",
  "terminate",
  "Terminate a signed contract with a reason (enterprise, owners committee, street office)",
  "From signed, under_construction or operating.",
  Reason,
);
export const transfer = actionWithBody(
  "transferContract",
  "transfer",
  "Transfer the facilities to the owners (owners committee or enterprise)",
  "On or after the transfer date, once every handback item is checked off. The facilities become the community's.",
  z.strictObject({
    transferredOn: CalendarDate.optional().openapi({ description: "Defaults to today (Asia/Shanghai)" }),
  }),
);

export const createAmendment = createRoute({
  operationId: "createAmendment",
  method: "post",
  path: "/contracts/{id}/amendments",
  tags,
  security,
  summary: "Draft an amendment of a signed contract (enterprise)",
  description:
    "A fee change or term extension is a new version that goes through the same submit–review–vote–sign path and takes effect on its effective date.",
  request: { params: IdParams, body: jsonBody(NewAmendment) },
  responses: { 201: jsonResponse(ContractDetail, "The amendment draft"), ...withConflicts },
});

export const listComments = createRoute({
  operationId: "listContractComments",
  method: "get",
  path: "/contracts/{id}/comments",
  tags,
  security,
  summary: "Review comments, oldest first",
  description: "Review comments of every party, oldest first; `versionNo` keeps those on one version.",
  request: { params: IdParams, query: Pagination.extend({ versionNo: Int4Param.min(1).optional() }) },
  responses: {
    200: jsonResponse(Page(Comment, "CommentPage"), "Comments, oldest first (id breaks ties)"),
    ...errorResponses,
  },
});

export const getComment = createRoute({
  operationId: "getContractComment",
  method: "get",
  path: "/contracts/{id}/comments/{commentId}",
  tags,
  security,
  summary: "One review comment",
  description: "One comment of the contract, as its list shows it; 404 outside the caller's scope.",
  request: {
    params: IdParams.extend({ commentId: Uuid.openapi({ param: { name: "commentId", in: "path" } }) }),
  },
  responses: { 200: jsonResponse(Comment, "The comment"), ...errorResponses },
});

export const addComment = createRoute({
  operationId: "addContractComment",
  method: "post",
  path: "/contracts/{id}/comments",
  tags,
  security,
  summary: "Comment on a version (any party of the contract)",
  description:
    "Any party of the contract comments on its current version (or the one named), e.g. while the owners committee reviews a submitted draft.",
  request: {
    params: IdParams,
    body: jsonBody(
      z.strictObject({
        body: Text.trim().min(1).max(4000),
        versionNo: Int4.min(1).optional().openapi({ description: "Defaults to the current version" }),
      }),
    ),
  },
  responses: { 201: jsonResponse(Comment, "Recorded"), ...withConflicts },
});

export const listVotes = createRoute({
  operationId: "listContractVotes",
  method: "get",
  path: "/contracts/{id}/votes",
  tags,
  security,
  summary: "Owners' votes recorded on the contract's versions",
  description:
    "The owners' votes recorded on the contract's versions, oldest first, each with its counts and whether it passed art. 278.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(Page(Vote, "VotePage"), "Votes by the day held, then as recorded"),
    ...errorResponses,
  },
});

export const getVote = createRoute({
  operationId: "getContractVote",
  method: "get",
  path: "/contracts/{id}/votes/{voteId}",
  tags,
  security,
  summary: "One owners' vote, with its counts and result",
  description:
    "One vote recorded on the contract, as its list shows it (counts, ratios against art. 278, which failed); 404 outside the caller's scope.",
  request: {
    params: IdParams.extend({ voteId: Uuid.openapi({ param: { name: "voteId", in: "path" } }) }),
  },
  responses: { 200: jsonResponse(Vote, "The vote"), ...errorResponses },
});

export const recordVote = createRoute({
  operationId: "recordVote",
  method: "post",
  path: "/contracts/{id}/votes",
  tags,
  security,
  summary: "Record the owners' vote on the submitted version (owners committee)",
  description:
    "Participation and yes votes by floor area and by headcount, against the community's household register. The answer shows the four ratios, the thresholds of art. 278 and which failed. A failed vote is recorded too.",
  request: { params: IdParams, body: jsonBody(VoteInput) },
  responses: { 201: jsonResponse(Vote, "Recorded, with the result"), ...withConflicts },
});

export const recordMilestone = createRoute({
  operationId: "recordMilestone",
  method: "post",
  path: "/contracts/{id}/milestones",
  tags,
  security,
  summary: "Record a construction or operation milestone (enterprise)",
  description:
    "The enterprise records a milestone (construction start, completion and acceptance, operation start), which the owners committee confirms; they move the contract from signed to under construction and operating.",
  request: {
    params: IdParams,
    body: jsonBody(
      z.strictObject({
        kind: MilestoneKind,
        occurredOn: CalendarDate,
        note: Text.max(2000).default(""),
      }),
    ),
  },
  responses: {
    201: jsonResponse(ContractDetail, "Recorded, waiting for the owners committee"),
    ...withConflicts,
  },
});

export const listMilestones = createRoute({
  operationId: "listContractMilestones",
  method: "get",
  path: "/contracts/{id}/milestones",
  tags,
  security,
  summary: "The contract's milestones in their order (construction start, completion, operation start)",
  description:
    "Each as the enterprise recorded it, and whether (and by whom) the owners committee confirmed it. The same as the contract's `milestones`, on its own.",
  request: { params: IdParams, query: Pagination },
  responses: { 200: jsonResponse(Page(Milestone, "MilestonePage"), "Milestones"), ...errorResponses },
});

export const getMilestone = createRoute({
  operationId: "getContractMilestone",
  method: "get",
  path: "/contracts/{id}/milestones/{kind}",
  tags,
  security,
  summary: "One milestone, by its kind",
  description:
    "The milestone as the enterprise recorded it, and whether (and by whom) the owners committee confirmed it; 404 while it is not recorded.",
  request: { params: MilestoneParams },
  responses: { 200: jsonResponse(Milestone, "The milestone"), ...errorResponses },
});

export const listSignatures = createRoute({
  operationId: "listContractSignatures",
  method: "get",
  path: "/contracts/{id}/signatures",
  tags,
  security,
  summary: "Who signed which version, oldest version first",
  description:
    "Every signature of the contract and its amendments, each with the content hash it signed; `versionNo` keeps one version's.",
  request: {
    params: IdParams,
    query: Pagination.extend({
      versionNo: Int4Param.min(1).optional().openapi({ description: "Only this version's signatures" }),
    }),
  },
  responses: { 200: jsonResponse(Page(Signature, "SignaturePage"), "Signatures"), ...errorResponses },
});

export const confirmMilestone = createRoute({
  operationId: "confirmMilestone",
  method: "post",
  path: "/contracts/{id}/milestones/{kind}/confirm",
  tags,
  security,
  summary: "Confirm a milestone (owners committee)",
  description:
    "Confirming construction start moves the contract to under_construction; confirming operation start moves it to operating and fixes the transfer date.",
  request: {
    params: MilestoneParams,
    body: noBody,
  },
  responses: { 200: jsonResponse(ContractDetail, "Confirmed"), ...withConflicts },
});

export const checkHandback = createRoute({
  operationId: "checkHandback",
  method: "post",
  path: "/contracts/{id}/handback/{code}/check",
  tags,
  security,
  summary: "Tick off a handback condition (owners committee)",
  description:
    "The owners committee ticks off one of the handback conditions of the contract; the transfer needs them all.",
  request: {
    params: IdParams.extend({
      code: z
        .string()
        .min(1)
        .max(40)
        .openapi({ param: { name: "code", in: "path" } }),
    }),
    body: jsonBody(z.strictObject({ checkedOn: CalendarDate, note: Text.max(2000).default("") })),
  },
  responses: { 200: jsonResponse(HandbackCheck, "Checked"), ...withConflicts },
});

export const getAudit = createRoute({
  operationId: "getContractAudit",
  method: "get",
  path: "/contracts/{id}/audit",
  tags,
  security,
  summary: "The contract's audit log (append-only, hash-chained)",
  description:
    "Every change of the contract in order: who (organization, key, person), what, when, each row hashed with the one before it, so a changed or removed row breaks the chain.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(Page(AuditRow, "AuditRowPage"), "Audit rows in order (by seq)"),
    ...errorResponses,
  },
});

export const verifyAudit = createRoute({
  operationId: "verifyContractAudit",
  method: "get",
  path: "/contracts/{id}/audit/verify",
  tags,
  security,
  summary: "Recompute the audit hash chain and say whether it is intact",
  description:
    "Recomputes the hash chain of the contract's audit log from its first row and answers whether it is intact.",
  request: { params: IdParams },
  responses: {
    200: jsonResponse(AuditVerdict, "The verdict"),
    ...errorResponses,
  },
});

export const listTransfers = createRoute({
  operationId: "listUpcomingTransfers",
  method: "get",
  path: "/transfers",
  tags,
  security,
  summary: "Contracts whose transfer to the owners falls within N days (overdue ones first)",
  description:
    "Contracts in the caller's scope whose transfer date falls within `withinDays` days (Asia/Shanghai), overdue ones first, then by date.",
  request: {
    query: Pagination.extend({
      withinDays: z.coerce.number().int().min(0).max(3650).default(90).openapi({
        type: "integer",
        description:
          "Transfers due within this many days from today (Asia/Shanghai); overdue ones always count",
      }),
    }),
  },
  responses: {
    200: jsonResponse(
      PageWith(UpcomingTransfer, "UpcomingTransferPage", {
        today: CalendarDate.openapi({
          description:
            "The day (Asia/Shanghai) `within` and `daysUntilTransfer` count from; the same on every page",
        }),
      }),
      "Upcoming transfers, soonest first (contract id breaks ties)",
    ),
    ...errorResponses,
  },
});
