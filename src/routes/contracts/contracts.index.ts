import { createRouter } from "../../openapi.js";
import * as handlers from "./contracts.handlers.js";
import * as routes from "./contracts.routes.js";
import * as lifecycle from "./lifecycle.handlers.js";

export const contractsRouter = createRouter()
  .openapi(routes.createContract, handlers.createContract)
  .openapi(routes.listContracts, handlers.listContracts)
  .openapi(routes.getContract, handlers.getContract)
  .openapi(routes.listVersions, handlers.listVersions)
  .openapi(routes.getVersion, handlers.getVersion)
  .openapi(routes.editDraft, handlers.editDraft)
  .openapi(routes.diffVersions, handlers.diffVersions)
  .openapi(routes.submit, lifecycle.submit)
  .openapi(routes.requestChanges, lifecycle.requestChanges)
  .openapi(routes.revise, lifecycle.revise)
  .openapi(routes.listVotes, lifecycle.listVotes)
  .openapi(routes.recordVote, lifecycle.recordVote)
  .openapi(routes.approve, lifecycle.approve)
  .openapi(routes.sign, lifecycle.sign)
  .openapi(routes.createAmendment, lifecycle.createAmendment)
  .openapi(routes.listComments, lifecycle.listComments)
  .openapi(routes.addComment, lifecycle.addComment)
  .openapi(routes.recordMilestone, lifecycle.recordMilestone)
  .openapi(routes.listMilestones, handlers.listMilestones)
  .openapi(routes.listSignatures, handlers.listSignatures)
  .openapi(routes.confirmMilestone, lifecycle.confirmMilestone)
  .openapi(routes.checkHandback, lifecycle.checkHandback)
  .openapi(routes.transfer, lifecycle.transfer)
  .openapi(routes.terminate, lifecycle.terminate)
  .openapi(routes.getAudit, handlers.getAudit)
  .openapi(routes.verifyAudit, handlers.verifyAudit)
  .openapi(routes.listTransfers, handlers.listTransfers);
