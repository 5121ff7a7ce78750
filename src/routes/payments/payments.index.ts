import { createRouter } from "../../openapi.js";
import * as handlers from "./payments.handlers.js";
import * as routes from "./payments.routes.js";

export const paymentsRouter = createRouter()
  .openapi(routes.recordPayment, handlers.recordPayment)
  .openapi(routes.listPayments, handlers.listPayments)
  .openapi(routes.getPayment, handlers.getPayment)
  .openapi(routes.listCreditNotes, handlers.listCreditNotes)
  .openapi(routes.getCreditNote, handlers.getCreditNote)
  .openapi(routes.createCreditNote, handlers.createCreditNote)
  .openapi(routes.createRefund, handlers.createRefund)
  .openapi(routes.getRefund, handlers.getRefund);
