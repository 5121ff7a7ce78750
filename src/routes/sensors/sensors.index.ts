import { createRouter } from "../../openapi.js";
import * as commandHandlers from "./commands.handlers.js";
import * as commandRoutes from "./commands.routes.js";
import * as handlers from "./sensors.handlers.js";
import * as routes from "./sensors.routes.js";

export const sensorsRouter = createRouter()
  .openapi(routes.createSensor, handlers.createSensor)
  .openapi(routes.listSensors, handlers.listSensors)
  .openapi(routes.getSensor, handlers.getSensor)
  .openapi(routes.rotateKey, handlers.rotateKey)
  .openapi(routes.revokeSensor, handlers.revokeSensor)
  .openapi(routes.listDeadLetters, handlers.listDeadLetters)
  .openapi(commandRoutes.issueCommand, commandHandlers.issueCommand)
  .openapi(commandRoutes.listCommands, commandHandlers.listCommands)
  .openapi(commandRoutes.getCommand, commandHandlers.getCommand);
