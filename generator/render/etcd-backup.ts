/**
 * Scheduled etcd snapshots (`etcd.backup`): what each member's backup script,
 * service and timer say. Each member saves its own snapshot from its own
 * client URL with the health-check client certificate it already holds
 * (pki/access.ts grants it to every member): no new credential on any host.
 */
import { BIN } from '../model/paths.ts';
import { hasRole, type Cluster, type Host } from '../model/types.ts';
import { FILES, PKI } from './host-paths.ts';

export const ETCD_BACKUP_UNITS = { service: 'etcd-backup.service', timer: 'etcd-backup.timer' } as const;

export interface EtcdBackupView {
  host: string;
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

/** The view of an etcd member's backup files, or null when backups are off (the role document then leaves them out). */
export function etcdBackupView(cluster: Cluster, host: Host): EtcdBackupView | null {
  const backup = cluster.etcd.backup;
  if (!backup || !hasRole(host, 'etcd')) return null;
  const member = cluster.etcd.members.find((m) => m.name === host.name)!;
  return {
    host: host.name,
    member: member.name,
    ...backup,
    prefix: `etcd-${member.name}-`,
    script: FILES.etcdBackupScript,
    ...ETCD_BACKUP_UNITS,
    etcdctl: BIN.etcdctl,
    endpoint: member.clientUrl,
    cacert: PKI.etcdCa,
    cert: PKI.etcdHealthcheckCert,
    key: PKI.etcdHealthcheckKey,
  };
}
