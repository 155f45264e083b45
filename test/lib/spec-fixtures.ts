/**
 * Small specs for tests, written so that line numbers are easy to read off:
 * BASE_SPEC's host i is on line 10 + i.
 */
import { SpecError, type Problem } from '../../generator/input/problems.ts';
import { clusterFromText } from '../../generator/input/validate.ts';

export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkyzZ9VSSD3SfMSztbNsk72/OXEltz6Y/jDp3R219OF test@example';

export const BASE_SPEC = `name: t
network:
  interface: eth0
  gateway: 192.168.1.1
loadBalancer:
  vip: 192.168.1.100
ssh:
  authorizedKeys: ["${SSH_KEY}"]
hosts:
  - { name: cp1, address: 192.168.1.11, roles: [control-plane, etcd] }
  - { name: cp2, address: 192.168.1.12, roles: [control-plane, etcd] }
  - { name: w1, address: 192.168.1.21, roles: [worker, etcd] }
  - { name: lb1, address: 192.168.1.31, roles: [load-balancer] }
  - { name: lb2, address: 192.168.1.32, roles: [load-balancer] }
`;

/** BASE_SPEC with line `line` (1-based) replaced by `text` (which may hold several lines). */
export function withLine(line: number, text: string, spec = BASE_SPEC): string {
  const lines = spec.split('\n');
  lines[line - 1] = text;
  return lines.join('\n');
}

/** BASE_SPEC with `text` inserted after line `line`. */
export function insertAfter(line: number, text: string, spec = BASE_SPEC): string {
  const lines = spec.split('\n');
  lines.splice(line, 0, text);
  return lines.join('\n');
}

/** The problems a spec text has; an empty list when it is valid. */
export function problemsOf(text: string): Problem[] {
  try {
    clusterFromText(text, 'spec.yaml');
    return [];
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
}
