/**
 * Command-line flags of the units, checked against what the target release
 * accepts (generator/versions/flags/). Rendering fails on a flag the
 * component does not know, so a unit can never carry a flag that would stop
 * the daemon from starting.
 */
import { flagListName, knownFlags } from '../versions/versions.ts';

export type FlagComponent =
  | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet' | 'kube-proxy' | 'etcd';

/** Flag name without the dashes, and its value. */
export type Flag = [name: string, value: string | number | boolean];

function compareMinor(version: string, minor: string): number {
  const [a = 0, b = 0] = version.replace(/^v/, '').split('.').map(Number);
  const [c = 0, d = 0] = minor.split('.').map(Number);
  return a - c || b - d;
}

/** True when `version` (3.6.14, v1.36.3) is at least `minor` (3.6, 1.36). */
export function atLeast(version: string, minor: string): boolean {
  return compareMinor(version, minor) >= 0;
}

export class UnknownFlagError extends Error {}

/** `--name=value` arguments, after checking every name against the release's flag list. */
export function renderFlags(component: FlagComponent, version: string, flags: readonly Flag[]): string[] {
  const list = flagListName(component, version);
  const known = knownFlags(list);
  const unknown = flags.map(([name]) => `--${name}`).filter((f) => !known.has(f));
  if (unknown.length) {
    throw new UnknownFlagError(`${component} ${version} does not accept ${unknown.join(', ')}: not in generator/versions/flags/${list}.txt`);
  }
  return flags.map(([name, value]) => `--${name}=${value}`);
}
