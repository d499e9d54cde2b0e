// Numeric command-line flags of the benchmarks: `--name N`.

/** The number after `--name` in `argv` (the process's arguments by default), or `dflt` when the flag is absent. */
export function numberArg(name: string, dflt: number, argv: readonly string[] = process.argv.slice(2)): number {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? Number(argv[at + 1]) : dflt;
}
