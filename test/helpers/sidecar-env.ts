// Configuration of a sidecar on a fast grid for integration tests against a real Prometheus: 1 s samples and cycles,
// horizons of 5/15/30 s and a 60 s "season", so that a test sees pulls, forecasts and refits within seconds.
export const FAST_GRID_ENV: Readonly<Record<string, string>> = {
  FORESIGHT_HOST: '127.0.0.1',
  FORESIGHT_PROMETHEUS_TIMEOUT: '2',
  FORESIGHT_INTERVAL: '1',
  FORESIGHT_CYCLE: '1',
  FORESIGHT_HISTORY: '120',
  FORESIGHT_HORIZONS: '5,15,30',
  FORESIGHT_SEASONS: '60',
  FORESIGHT_RATE_WINDOW: '4s',
  FORESIGHT_VANISH_AFTER: '120',
  FORESIGHT_PROFILE_EVERY: '10',
  // a scrape interval of these tests' Prometheus (1 s), as the default 30 s is for one of 15-30 s: 30 s would hold back
  // thirty of these 1-second slots
  FORESIGHT_PULL_DELAY: '1',
};
