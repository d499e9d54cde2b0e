// Status codes of the WASM core (mirror of assembly/status.ts) and their mapping to FORESIGHT_ERR_CORE_* errors.
import {
  CoreBadParamError,
  CoreBufferTooSmallError,
  CoreNegativeError,
  CoreNonFiniteError,
  CoreTooFewPointsError,
} from '../errors.js';

/** Same numbers as assembly/status.ts. */
export const Status = {
  Ok: 0,
  TooFewPoints: 1,
  NonFinite: 2,
  BadParam: 3,
  FallbackNonSeasonal: 4,
  Constant: 5,
  BufferTooSmall: 6,
  Negative: 7,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const names: Record<number, string> = {
  0: 'ok',
  1: 'too-few-points',
  2: 'non-finite',
  3: 'bad-param',
  4: 'nonseasonal-fallback',
  5: 'constant',
  6: 'buffer-too-small',
  7: 'negative',
};

/** A short stable name for a status code (for logs, metrics labels and `SeriesForecast.status`). */
export function statusName(code: number): string {
  return names[code] ?? `unknown-${code}`;
}

/** True for codes that describe the data but leave a usable result (fallback, constant). */
export function isInformational(code: number): boolean {
  return code === Status.Ok || code === Status.FallbackNonSeasonal || code === Status.Constant;
}

/** The coded error for a failing status, or undefined for Ok and the informational codes. */
export function statusError(code: number, context: string): Error | undefined {
  switch (code) {
    case Status.TooFewPoints:
      return new CoreTooFewPointsError(context);
    case Status.NonFinite:
      return new CoreNonFiniteError(context);
    case Status.BadParam:
      return new CoreBadParamError(context);
    case Status.BufferTooSmall:
      return new CoreBufferTooSmallError(context);
    case Status.Negative:
      return new CoreNegativeError(context);
    default:
      return isInformational(code) ? undefined : new CoreBadParamError(`${context} (unknown status ${code})`);
  }
}

/** Throws the coded error for a failing status; returns the code otherwise. */
export function checkStatus(code: number, context: string): number {
  const err = statusError(code, context);
  if (err) throw err;
  return code;
}
