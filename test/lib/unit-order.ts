/** systemd ordering as boot sees it, for tests of units installed in a root. */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

function inRoot(root: string, dir: string, target: string): string {
  return target.startsWith('/') ? join(root, target) : join(dir, target);
}

/**
 * An ordering cycle through `start` among the root's units, as systemd would
 * find it at boot (systemd-analyze verify does not look at [Install]):
 * After=/Before= lines, and the After= a target adds to each unit it wants
 * (its .wants/ folders and Wants=/Requires=). Empty when there is none.
 */
export function orderingCycle(root: string, start: string): string[] {
  const dirs = ['etc/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system'].map((d) => join(root, d)).filter(existsSync);
  const after = new Map<string, Set<string>>();
  const edge = (a: string, b: string) => { if (!after.has(a)) after.set(a, new Set()); after.get(a)!.add(b); };
  for (const d of dirs) {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (name.endsWith('.wants') || name.endsWith('.requires')) {
        const target = name.replace(/\.(wants|requires)$/, '');
        if (target.endsWith('.target')) for (const u of readdirSync(path)) edge(target, u);
        continue;
      }
      if (!/\.(service|target|socket|mount|path|timer)$/.test(name)) continue;
      // Aliases are absolute symlinks: resolve them inside the root, not on this machine.
      const file = lstatSync(path).isSymbolicLink() ? inRoot(root, d, readlinkSync(path)) : path;
      if (!existsSync(file) || !statSync(file).isFile()) continue;
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const m = /^(After|Before|Wants|Requires)=(.*)$/.exec(line.trim());
        if (!m) continue;
        for (const other of m[2]!.split(/\s+/).filter(Boolean)) {
          if (m[1] === 'After') edge(name, other);
          else if (m[1] === 'Before') edge(other, name);
          else if (name.endsWith('.target')) edge(name, other);
        }
      }
    }
  }
  const path: string[] = [];
  const seen = new Set<string>();
  const visit = (unit: string): boolean => {
    for (const next of after.get(unit) ?? []) {
      if (next === start) { path.push(unit); return true; }
      if (seen.has(next)) continue;
      seen.add(next);
      if (visit(next)) { path.push(unit); return true; }
    }
    return false;
  };
  return visit(start) ? path.reverse() : [];
}

