// Writes test/fixtures/core/hw-fit.json: the Holt-Winters fits of test/helpers/hw-fit-golden.ts, to the bit.
// Recorded from the build before the fit evaluated four points at once (4a40354, one point at a time): the test
// checks that the batched Nelder-Mead takes the classic algorithm's path. Run it again only when a change of the fit
// is meant to change its results:  npx tsx scripts/golden/hw-fit.ts
import { writeFileSync } from 'node:fs';
import { sharedCore } from '../../src/core/wasm.js';
import { goldenFits } from '../../test/helpers/hw-fit-golden.js';

const path = new URL('../../test/fixtures/core/hw-fit.json', import.meta.url);
writeFileSync(path, `${JSON.stringify({ script: 'scripts/golden/hw-fit.ts', header: 'alpha beta gamma1 gamma2 phi level trend m1 m2 t status mse', fits: goldenFits(sharedCore()) }, null, 1)}\n`);
console.log(`${path.pathname} written`);
