import { createRouter } from "../../openapi.js";
import * as handlers from "./organizations.handlers.js";
import * as routes from "./organizations.routes.js";

export const organizationsRouter = createRouter()
  .openapi(routes.getMe, handlers.getMe)
  .openapi(routes.createOrganization, handlers.createOrganization)
  .openapi(routes.listOrganizations, handlers.listOrganizations)
  .openapi(routes.getOrganization, handlers.getOrganization)
  .openapi(routes.updateOrganizationCommunities, handlers.updateOrganizationCommunities)
  .openapi(routes.listKeys, handlers.listKeys)
  .openapi(routes.createKey, handlers.createKey)
  .openapi(routes.getKey, handlers.getKey)
  .openapi(routes.revokeKey, handlers.revokeKey)
  .openapi(routes.listInvitations, handlers.listInvitations)
  .openapi(routes.createInvitation, handlers.createInvitation)
  .openapi(routes.getInvitation, handlers.getInvitation);
