// What sharding costs the pooled shadow reserve: the sum of the shards' reserves (each pools only its own tenants)
// against one pool over every tenant, with the reserve's own Monte Carlo (src/logic/shadow-reserve.ts). Tenants are
// synthetic: forecast quantiles of a log-normal spread (level 0.2-4.2 cores, sigma 0.1-0.5), allocation at the p90.
// JSON on stdout.
//   node --import tsx bench/shard-pooling.ts [--tenants 10000,1200] [--shards 2,4,6,12]
import { shadowReserve, type ReserveTenant } from '../src/logic/shadow-reserve.js';
import { shardOfTenant } from '../src/model/shard.js';

const args = process.argv.slice(2);
const list = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return (i >= 0 ? args[i + 1] : def).split(',').map(Number);
};
const LEVELS = [0.5, 0.9, 0.95, 0.99];
const Z = [0, 1.2816, 1.6449, 2.3263]; // standard normal quantiles of LEVELS

function tenants(n: number): Array<ReserveTenant & { name: string }> {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: n }, (_, i) => {
    const level = 0.2 + 4 * rnd() ** 2;
    const sigma = 0.1 + 0.4 * rnd();
    const values = Z.map((z) => level * Math.exp(sigma * z));
    return { name: `tenant-${String(i).padStart(5, '0')}`, levels: LEVELS, values, allocation: values[1] };
  });
}

const rows: unknown[] = [];
for (const n of list('tenants', '10000,1200')) {
  const all = tenants(n);
  const one = shadowReserve(all);
  for (const shards of list('shards', '2,4,6,12')) {
    let sum = 0;
    for (let s = 0; s < shards; s++) sum += shadowReserve(all.filter((t) => shardOfTenant(t.name, shards) === s));
    rows.push({ tenants: n, shards, onePoolCores: Math.round(one * 10) / 10, sumOfShardPoolsCores: Math.round(sum * 10) / 10, extraPct: Math.round((sum / one - 1) * 1000) / 10 });
  }
}
console.log(JSON.stringify({ bench: 'shard-pooling', rows }, null, 2));
