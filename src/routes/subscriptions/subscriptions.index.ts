import { createRouter } from "../../openapi.js";
import * as handlers from "./subscriptions.handlers.js";
import * as routes from "./subscriptions.routes.js";

export const subscriptionsRouter = createRouter()
  .openapi(routes.createSubscription, handlers.createSubscription)
  .openapi(routes.listSubscriptions, handlers.listSubscriptions)
  .openapi(routes.getSubscription, handlers.getSubscription)
  .openapi(routes.cancelSubscription, handlers.cancelSubscription)
  .openapi(routes.switchToYearly, handlers.switchToYearly);
