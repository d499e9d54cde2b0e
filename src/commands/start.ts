// `foresight start`: loads the configuration (failing on every problem at once), starts the sidecar, and closes it
// gracefully on SIGINT/SIGTERM (close-with-grace: stop the loop, finish in-flight requests, exit).
import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../config/load.js';
import { renderHelp } from '../config/help.js';

export const summary = 'run the sidecar: pull from Prometheus (or replay the demo trace), forecast, serve /metrics and the API';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(renderHelp());
    return 0;
  }
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config' || a === '-c' || a.startsWith('--config=')) {
      file = a.startsWith('--config=') ? a.slice('--config='.length) : argv[++i];
      if (!file || file.startsWith('-')) {
        console.error(`foresight start: ${a.split('=')[0]} needs a file path (see foresight start --help)`);
        return 2;
      }
    } else {
      console.error(`foresight start: unknown argument "${a}" (see foresight start --help)`);
      return 2;
    }
  }
  const config = loadConfig({ file });
  const { startSidecar } = await import('../main.js');
  const sidecar = await startSidecar(config);
  await new Promise<void>((resolve) => {
    // within Kubernetes' default terminationGracePeriodSeconds (30): closing aborts a pull in flight and ends a first
    // fit between batches, and the actuator's requests time out after actuator.requestTimeoutMs (10 s by default)
    closeWithGrace({ delay: 25_000 }, async ({ signal, err }) => {
      const t0 = performance.now();
      if (err) sidecar.logger.error({ err }, 'fatal error: shutting down');
      else sidecar.logger.info({ signal }, 'shutting down');
      await sidecar.close();
      sidecar.logger.info({ ms: Math.round(performance.now() - t0) }, 'stopped');
      resolve();
    });
  });
  return 0;
}
