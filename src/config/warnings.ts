// Settings that are valid but switch off something the project ships (an alert, dashboard panels): logged as warnings
// at start-up (main.ts), never refused, since a smaller exposition can be a deliberate trade for cardinality.
import { envName, type BaseConfig } from './schema.js';

export interface ConfigWarning {
  /** The setting to change, by its configuration key. */
  setting: keyof BaseConfig;
  message: string;
}

/** Exported quantile levels that alerts/foresight.rules.yaml and dashboards/ read, with what reads each. */
const READ_QUANTILES: ReadonlyArray<{ q: number; readers: string }> = [
  {
    q: 0.9,
    readers:
      "the alert ForesightResourceForecastExceedsLimit never fires, and the dashboards' p90 forecasts stay empty (Overview: the forecast p90 lines of Total usage against its forecast, Forecast p90 against the configured limit; Tenant: the forecast p90 lines, Forecast p90 above limit)",
  },
  { q: 0.5, readers: "the dashboards' p50 forecast lines stay empty (Overview: Total usage against its forecast; Tenant: every resource panel)" },
];

/** What the configuration leaves out that the shipped alerts and dashboards expect; empty when nothing is. */
export function configWarnings(c: Pick<BaseConfig, 'exportQuantiles'>): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const { q, readers } of READ_QUANTILES) {
    if (c.exportQuantiles.includes(q)) continue;
    out.push({
      setting: 'exportQuantiles',
      message: `exportQuantiles (${c.exportQuantiles.join(', ')}) leaves out ${q}, so foresight_forecast{quantile="${q}"} is not exported: ${readers}; add ${q} to ${envName('exportQuantiles')} (and to quantiles) to restore them`,
    });
  }
  return out;
}
