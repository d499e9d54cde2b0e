// Grouping by a key, keys in the order of their first item (a Map keeps insertion order).

/** The items of `items` by `key(item)`, each group in the items' order. */
export function groupBy<T, K>(items: Iterable<T>, key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const l = m.get(k);
    if (l) l.push(it);
    else m.set(k, [it]);
  }
  return m;
}
