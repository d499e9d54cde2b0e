// `foresight evaluate`: not built yet (placeholder owned by the issue that builds it).
export const summary = 'evaluate (not built yet)';

export async function run(_argv: string[]): Promise<number> {
  console.error('foresight evaluate: not built yet');
  return 2;
}
