/**
 * An etcd member of the static initial cluster: TLS with certificate auth for
 * clients and peers, and, unless etcd.backup.enabled is false, a timer that
 * snapshots it. Each member saves its own snapshot from its own client URL
 * with the health-check client certificate it already holds: no new
 * credential on any host.
 */
import { BIN, CONFIG, PORTS } from '../model/paths.ts';
import type { Cluster, EtcdMember, Host } from '../model/types.ts';
import { ON_HOST, asGrants } from '../pki/on-host.ts';
import { atLeast, type Flag } from './flags.ts';
import { FILES, UNIT_DIR } from './paths.ts';
import type { RoleRecipe } from './recipe.ts';
import { unit, UNIT_TEMPLATE, type UnitView } from './unit.ts';

export const ETCD_BACKUP_UNITS = { service: 'etcd-backup.service', timer: 'etcd-backup.timer' } as const;

function memberOf(cluster: Cluster, host: Host): EtcdMember {
  return cluster.etcd.members.find((m) => m.name === host.name)!;
}

/**
 * etcd's flags. 3.6 turned the corruption check and watch-progress
 * notifications from experimental flags into a feature gate and a plain flag;
 * 3.5 (and 3.4) only know the experimental ones.
 */
export function etcdUnit(cluster: Cluster, host: Host): UnitView {
  const member = memberOf(cluster, host);
  const version = cluster.etcd.version;
  const versioned: Flag[] = atLeast(version, '3.6')
    ? [['feature-gates', 'InitialCorruptCheck=true'], ['watch-progress-notify-interval', '5s']]
    : [['experimental-initial-corrupt-check', true], ['experimental-watch-progress-notify-interval', '5s']];
  return unit(host, 'etcd', version, BIN.etcd, [
    ['name', member.name],
    ['data-dir', CONFIG.etcdDataDir],
    ['listen-client-urls', `${member.clientUrl},https://127.0.0.1:${PORTS.etcdClient}`],
    ['advertise-client-urls', member.clientUrl],
    ['listen-peer-urls', member.peerUrl],
    ['initial-advertise-peer-urls', member.peerUrl],
    ['initial-cluster', member.initialCluster],
    ['initial-cluster-state', member.initialClusterState],
    ['initial-cluster-token', cluster.etcd.initialClusterToken],
    ['listen-metrics-urls', `http://127.0.0.1:${PORTS.etcdMetrics}`],
    ['cert-file', ON_HOST.etcdServer.cert.path],
    ['key-file', ON_HOST.etcdServer.key.path],
    ['trusted-ca-file', ON_HOST.etcdCa.cert.path],
    ['client-cert-auth', true],
    ['peer-cert-file', ON_HOST.etcdPeer.cert.path],
    ['peer-key-file', ON_HOST.etcdPeer.key.path],
    ['peer-trusted-ca-file', ON_HOST.etcdCa.cert.path],
    ['peer-client-cert-auth', true],
    ['snapshot-count', 10000],
    ...versioned,
  ], {
    type: 'notify',
    description: `etcd ${version} member ${member.name}`,
    documentation: 'https://etcd.io/docs/',
    serviceExtra: ['LimitNOFILE=65536'],
  });
}

export interface EtcdBackupView {
  member: string;
  schedule: string;
  keep: number;
  directory: string;
  /** Snapshot file names: `<prefix><UTC time>.db`, so that names sort by time. */
  prefix: string;
  script: string;
  service: string;
  timer: string;
  etcdctl: string;
  endpoint: string;
  cacert: string;
  cert: string;
  key: string;
}

/** The view of a member's backup files, or null when backups are off. */
export function etcdBackupView(cluster: Cluster, host: Host): EtcdBackupView | null {
  const backup = cluster.etcd.backup;
  if (!backup) return null;
  const member = memberOf(cluster, host);
  return {
    member: member.name,
    ...backup,
    prefix: `etcd-${member.name}-`,
    script: FILES.etcdBackupScript,
    ...ETCD_BACKUP_UNITS,
    etcdctl: BIN.etcdctl,
    endpoint: member.clientUrl,
    cacert: ON_HOST.etcdCa.cert.path,
    cert: ON_HOST.etcdHealthcheckClient.cert.path,
    key: ON_HOST.etcdHealthcheckClient.key.path,
  };
}

export const etcd: RoleRecipe = {
  name: 'the etcd recipe',
  roles: ['etcd'],
  credentials: [
    ...asGrants(ON_HOST.etcdCa),
    ...asGrants(ON_HOST.etcdServer),
    ...asGrants(ON_HOST.etcdPeer),
    // The member's own backups, and the operator's etcdctl on the member.
    ...asGrants(ON_HOST.etcdHealthcheckClient),
  ],
  steps: (cluster, host) => [
    { name: 'start-etcd', template: 'etcd/start-etcd.sh.hbs', view: { dataDir: CONFIG.etcdDataDir, backup: etcdBackupView(cluster, host) } },
  ],
  files: ({ cluster, host }) => {
    const backup = etcdBackupView(cluster, host);
    return [
      { path: `${UNIT_DIR}/etcd.service`, template: UNIT_TEMPLATE, view: etcdUnit(cluster, host) },
      ...(backup ? [
        { path: backup.script, template: 'etcd/etcd-backup.sh.hbs', view: backup, permissions: '0755' },
        { path: `${UNIT_DIR}/${backup.service}`, template: 'etcd/etcd-backup.service.hbs', view: backup },
        { path: `${UNIT_DIR}/${backup.timer}`, template: 'etcd/etcd-backup.timer.hbs', view: backup },
      ] : []),
    ];
  },
};
