/**
 * The README at the top of a generated cluster folder: what is there and
 * which file goes to which VM, for the operator who opens the folder later.
 */
import { BIN, CONFIG, PORTS } from '../model/paths.ts';
import { hostsWithRole, type Cluster, type Role } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import type { CertificateExpiry } from '../pki/calendar.ts';
import { ON_HOST } from '../pki/on-host.ts';
import { renderPlatformSteps } from './platforms/steps.ts';
import type { SeedFacts } from './platforms/index.ts';
import { renderTemplate } from './templates.ts';

/** What the plain-text diagram shows: clients -> VIP -> apiservers -> etcd, nodes beside. */
function topology(cluster: Cluster) {
  const names = (role: Role) => hostsWithRole(cluster, role).map((h) => `${h.name} ${h.address}`);
  const lb = cluster.loadBalancer;
  return {
    lb: lb ? {
      vip: lb.vip,
      port: lb.port,
      virtualRouterId: lb.virtualRouterId,
      members: lb.members.map((m) => ({ host: m.host, address: m.address, preferred: m.initialState === 'MASTER' })),
    } : null,
    apiserverPort: cluster.kubernetes.apiserverPort,
    controlPlanes: names('control-plane'),
    etcdPort: PORTS.etcdClient,
    etcd: names('etcd'),
    workers: names('worker'),
  };
}

/** The backup settings and, per member, the restore command of the project README's procedure with this cluster's values. */
function etcdBackupReadme(cluster: Cluster) {
  const backup = cluster.etcd.backup;
  const etcd = cluster.etcd;
  return {
    ...(backup ? { enabled: true, ...backup } : { enabled: false }),
    tools: { etcdutl: BIN.etcdutl, etcdctl: BIN.etcdctl },
    pki: { ca: ON_HOST.etcdCa.cert.path, cert: ON_HOST.etcdHealthcheckClient.cert.path, key: ON_HOST.etcdHealthcheckClient.key.path },
    dataDir: CONFIG.etcdDataDir,
    endpoints: etcd.members.map((m) => m.clientUrl).join(','),
    members: etcd.members.map((m) => ({ name: m.name, peerUrl: m.peerUrl, initialCluster: etcd.initialCluster, token: etcd.initialClusterToken })),
  };
}

/** `2027-12-02T02:10:44.000Z` -> `2027-12-02 02:10` (UTC). */
const minuteUtc = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;

export function renderClusterReadme(cluster: Cluster, specFile: string, calendar: readonly CertificateExpiry[], facts: SeedFacts): OutputFile {
  const content = renderTemplate('cluster-README.md.hbs', {
    ...cluster,
    specFile,
    topology: topology(cluster),
    hosts: cluster.hosts.map((h) => ({ name: h.name, address: h.address, roles: h.roles.join(', ') })),
    imageNote: cluster.image.binaries === 'golden-image'
      ? 'the golden image built from packer/'
      : `a stock ${cluster.image.os} cloud image; first boot downloads the pinned binaries`,
    adminKubeconfig: `out/${cluster.name}/admin.kubeconfig`,
    bootstrapTokenHours: cluster.pki.bootstrapTokenHours,
    etcdBackup: etcdBackupReadme(cluster),
    certificates: calendar.map((c) => ({
      name: c.name,
      subject: c.subject,
      notAfter: minuteUtc(c.notAfter),
      renewBy: minuteUtc(c.renewBy),
      hosts: c.hosts.join(', ') || 'none',
      renewal: c.renewal === 'generate' ? '`npm run generate`' : `\`--rotate ${c.renewal}\``,
    })),
    platformSteps: renderPlatformSteps(cluster, facts),
  });
  return { path: 'README.md', content, mode: 0o644 };
}
