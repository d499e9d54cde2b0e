#!/usr/bin/env node
// Foresight's command line: dispatches to one module per command in src/commands/ (loaded lazily).

interface CommandModule {
  /** One line for `foresight --help`. */
  summary: string;
  /** Runs the command with its own arguments; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<CommandModule>> = {
  start: () => import('./commands/start.js'),
  backtest: () => import('./commands/backtest.js'),
  evaluate: () => import('./commands/evaluate.js'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = ['Usage: foresight <command> [options]', '', 'Commands:'];
    for (const [cmd, load] of Object.entries(commands)) lines.push(`  ${cmd.padEnd(10)} ${(await load()).summary}`);
    lines.push('', 'Run `foresight <command> --help` for the options of a command.');
    console.log(lines.join('\n'));
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`foresight: unknown command "${name}" (commands: ${Object.keys(commands).join(', ')})`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error & { code?: string };
    // Node's own errors already name their code ("ENOTDIR: not a directory, ...", "listen EADDRINUSE: ...")
    const coded = e.code && !e.message.includes(e.code) ? `${e.code}: ` : '';
    console.error(`foresight: ${coded}${e.message}`);
    if (process.env.FORESIGHT_DEBUG) console.error(e.stack);
    // a usage error exits 2, as an unknown command or option does; anything else 1
    process.exitCode = e.code === 'FORESIGHT_ERR_ARGUMENT_INVALID' ? 2 : 1;
  },
);
