import { createRouter } from "../../openapi.js";
import * as handlers from "./notifications.handlers.js";
import * as routes from "./notifications.routes.js";

export const notificationsRouter = createRouter()
  .openapi(routes.createEndpoint, handlers.createEndpoint)
  .openapi(routes.listEndpoints, handlers.listEndpoints)
  .openapi(routes.getEndpoint, handlers.getEndpoint)
  .openapi(routes.updateEndpoint, handlers.updateEndpoint)
  .openapi(routes.deleteEndpoint, handlers.deleteEndpoint)
  .openapi(routes.rotateSecret, handlers.rotateSecret)
  .openapi(routes.testEndpoint, handlers.testEndpoint)
  .openapi(routes.listDeliveries, handlers.listDeliveries)
  .openapi(routes.replayDelivery, handlers.replayDelivery);
