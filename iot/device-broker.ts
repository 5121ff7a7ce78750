/**
 * What the API tells the broker when a sensor's login changes (AppDeps.devices): registration,
 * rotate-key and revoke call it inside their transaction, so that a change the broker did not take
 * is rolled back and answered 503 instead of being claimed.
 *
 * - Mosquitto (MQTT_URL set): iot/dynsec-admin.ts, through the dynamic-security plugin.
 * - The embedded broker reads the database at each login and `Ingest.invalidateSensor` drops a
 *   sensor's connections, so there it only counts refused logins (iot/broker.ts).
 */
export interface DeviceBroker {
  /** A newly registered sensor may log in with `key` from now on. */
  addSensor(sensorId: string, key: string): Promise<void>;
  /** The sensor's key is now `key`: the old one is refused and its connections dropped. */
  setSensorKey(sensorId: string, key: string): Promise<void>;
  /** The sensor is revoked: refused from now on, its connections dropped. */
  disableSensor(sensorId: string): Promise<void>;
  /** Logins the broker refused since this process started, by reason (for /metrics). */
  readonly refusedConnects: Readonly<Record<string, number>>;
  /** Logged-in connections the broker closed since this process started, by reason (for /metrics). */
  readonly droppedConnections?: Readonly<Record<string, number>>;
}

/** The broker could not be told (not connected, no answer in time, or it said no). */
export class BrokerUnavailableError extends Error {}

/** This runtime can not reach the broker at all (a Worker; Mosquitto is told by the Node process). */
export class BrokerNotReachableError extends Error {}

/**
 * The Workers entry's broker when the sensors log in to Mosquitto (SENSOR_LOGINS=mosquitto): every
 * change of a login is refused, so that the database never holds a login the broker does not.
 */
export const brokerOfTheNodeProcess: DeviceBroker = {
  addSensor: () => Promise.reject(new BrokerNotReachableError()),
  setSensorKey: () => Promise.reject(new BrokerNotReachableError()),
  disableSensor: () => Promise.reject(new BrokerNotReachableError()),
  refusedConnects: {},
};
