// The logger shape the actuator needs (pino's, so main.ts passes its logger; tests pass a silent one).
export interface ActuatorLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLog: ActuatorLog = { info() {}, warn() {}, error() {} };
