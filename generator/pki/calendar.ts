/**
 * The expiry calendar: every certificate of the cluster's PKI with its end,
 * the hosts that hold it (from the grants, access.ts) and the date from which
 * to renew it. Read from the PkiBundle in memory, so it describes exactly the
 * certificates this run hands out. Written with the output (certificates.json
 * and a table in the cluster README); nothing in it depends on today's date,
 * so an unchanged PKI gives the same bytes.
 */
import { X509Certificate } from 'node:crypto';
import type { Cluster } from '../model/types.ts';
import { certifiedKey, grantsFor } from './access.ts';
import { CA_WARN_DAYS, LEAF_RENEW_DAYS } from './lifetimes.ts';
import { CA_NAMES, CA_PROFILES, ROTATE_TARGETS, leafProfiles, type RotateTarget } from './profiles.ts';
import type { PkiBundle } from './types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** `generate` warns when anything on the calendar ends this soon. */
export const EXPIRY_WARN_DAYS = 60;

export interface CertificateExpiry {
  /** The PKI's name for it: `ca/kubernetes`, `apiserver`, `etcd-server/<member>`. */
  name: string;
  /** As openssl prints it, most significant last: `O=system:masters, CN=kubernetes-admin`. */
  subject: string;
  /** ISO 8601, UTC. */
  notAfter: string;
  /**
   * ISO 8601, UTC: the start of the renewal window. From then on `generate`
   * reissues a leaf (LEAF_RENEW_DAYS before its end) and warns about a CA
   * (CA_WARN_DAYS before its end); re-provision the holders after that run,
   * and before notAfter.
   */
  renewBy: string;
  /** Hosts holding the certificate (for a CA: its certificate, the trust anchor). */
  hosts: string[];
  /** How it is renewed: `generate` for a leaf; `--rotate <target>` for a CA. */
  renewal: 'generate' | RotateTarget;
}

function subjectOf(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ');
}

function rotateTargetOf(caName: string): RotateTarget {
  return ROTATE_TARGETS.find((t) => t === `${caName}-ca`)!;
}

/** Every certificate of the bundle, soonest end first (the PKI's own order among equals). */
export function expiryCalendar(cluster: Cluster, bundle: PkiBundle): CertificateExpiry[] {
  // Who holds what, in one pass over the hosts (what hostsHolding() says item by item):
  // asking it for each of one certificate per node would cost hosts x nodes.
  const holders = new Map<string, string[]>();
  for (const host of cluster.hosts) {
    for (const grant of grantsFor(host)) {
      const list = holders.get(grant.item) ?? [];
      if (list.at(-1) !== host.name) list.push(host.name);
      holders.set(grant.item, list);
    }
  }
  const entry = (name: string, windowDays: number, renewal: CertificateExpiry['renewal']): CertificateExpiry => {
    const cert = new X509Certificate(certifiedKey(bundle, name).certPem);
    const end = new Date(cert.validTo);
    return {
      name,
      subject: subjectOf(cert),
      notAfter: end.toISOString(),
      renewBy: new Date(end.getTime() - windowDays * DAY_MS).toISOString(),
      hosts: holders.get(name) ?? [],
      renewal,
    };
  };
  const entries = [
    ...CA_NAMES.map((n) => entry(CA_PROFILES[n].id, CA_WARN_DAYS, rotateTargetOf(n))),
    ...leafProfiles(cluster).map((l) => entry(l.id, LEAF_RENEW_DAYS, 'generate')),
  ];
  // Array.prototype.sort is stable: equal ends keep the PKI's order.
  return entries.sort((a, b) => a.notAfter.localeCompare(b.notAfter));
}

/** certificates.json in the cluster folder. */
export function calendarJson(cluster: Cluster, calendar: readonly CertificateExpiry[]): string {
  return `${JSON.stringify({ cluster: cluster.name, certificates: calendar }, null, 2)}\n`;
}

/** Lines for stderr about every certificate that ends within EXPIRY_WARN_DAYS of `now`. */
export function expiryWarnings(calendar: readonly CertificateExpiry[], now: Date): string[] {
  return calendar
    .filter((c) => Date.parse(c.notAfter) - now.getTime() < EXPIRY_WARN_DAYS * DAY_MS)
    .map((c) => {
      const days = Math.floor((Date.parse(c.notAfter) - now.getTime()) / DAY_MS);
      const when = days < 0 ? 'expired' : `expires in ${days} day${days === 1 ? '' : 's'}`;
      const holders = c.hosts.length ? c.hosts.join(', ') : 'no host';
      const action = c.renewal === 'generate'
        ? `run generate again from ${c.renewBy.slice(0, 10)} on (it then reissues it) and re-provision ${holders}`
        : `plan its rotation (--rotate ${c.renewal}) and re-provision ${holders}`;
      return `certificates: warning: ${c.name} (${c.subject}) ${when}, on ${c.notAfter}: ${action}`;
    });
}
