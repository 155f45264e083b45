/**
 * Per-host seeds: hosts/<host>/user-data, meta-data, network-config and the
 * NoCloud cidata.iso carrying the three, plus the cluster's admin.kubeconfig.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Cluster, Host } from '../model/types.ts';
import { buildCidataIso } from '../output/iso9660.ts';
import type { OutputFile } from '../output/tree.ts';
import type { PkiBundle } from '../pki/types.ts';
import { renderCloudConfig } from './cloud-config.ts';
import { adminKubeconfig } from './host-view.ts';
import { renderTemplate } from './templates.ts';

/**
 * The user-data ceiling this project checks against: 64 KiB, VMware's
 * guestinfo limit (GUESTMSG_MAX_IN_SIZE), which vm-operator and Proxmox-style
 * "paste the user-data" fields share. EC2-style metadata services stop at
 * 16 KiB; a NoCloud ISO (what this tool writes) has no practical limit.
 */
export const USER_DATA_LIMIT = 64 * 1024;
export const EC2_USER_DATA_LIMIT = 16 * 1024;

export interface HostSeed {
  host: string;
  userData: string;
  metaData: string;
  networkConfig: string;
  /** Present when user-data exceeds USER_DATA_LIMIT: for guestinfo.userdata.encoding=gzip+base64. */
  userDataGzipBase64?: string;
}

export function renderNetworkConfig(host: Host): string {
  return renderTemplate('cloud-init/network-config.hbs', { host: host.name, address: host.address, ...host.network });
}

/** Stable while the host's rendered seed is unchanged; any byte changed gives a new id. */
export function instanceId(host: Host, userData: string, networkConfig: string): string {
  const digest = createHash('sha256').update(userData).update('\0').update(networkConfig).digest('hex');
  return `${host.name}-${digest.slice(0, 16)}`;
}

export function renderHostSeed(cluster: Cluster, host: Host, bundle: PkiBundle): HostSeed {
  const { userData } = renderCloudConfig(cluster, host, bundle);
  const networkConfig = renderNetworkConfig(host);
  const metaData = renderTemplate('cloud-init/meta-data.hbs', {
    host: host.name,
    instanceId: instanceId(host, userData, networkConfig),
  });
  const big = Buffer.byteLength(userData) > USER_DATA_LIMIT;
  return {
    host: host.name,
    userData,
    metaData,
    networkConfig,
    ...(big ? { userDataGzipBase64: `${gzipSync(userData, { level: 9 }).toString('base64')}\n` } : {}),
  };
}

/** One log line per host: its user-data size against the limits above. */
export function describeSeed(seed: HostSeed): string {
  const bytes = Buffer.byteLength(seed.userData);
  const kib = (bytes / 1024).toFixed(1);
  if (seed.userDataGzipBase64) {
    const packed = seed.userDataGzipBase64.length;
    const still = packed > USER_DATA_LIMIT ? `, still over it: use cidata.iso (no size limit)` : '';
    return `${seed.host}: user-data ${kib} KiB, over the ${USER_DATA_LIMIT / 1024} KiB guestinfo limit: ` +
      `also wrote user-data.gz.b64 (${(packed / 1024).toFixed(1)} KiB, gzip+base64${still})`;
  }
  const ec2 = bytes > EC2_USER_DATA_LIMIT ? `; over EC2's ${EC2_USER_DATA_LIMIT / 1024} KiB` : '';
  return `${seed.host}: user-data ${kib} KiB (limit ${USER_DATA_LIMIT / 1024} KiB${ec2})`;
}

export interface RenderedHosts { files: OutputFile[]; seeds: HostSeed[] }

export function renderHosts(cluster: Cluster, bundle: PkiBundle): RenderedHosts {
  const seeds = cluster.hosts.map((h) => renderHostSeed(cluster, h, bundle));
  const files: OutputFile[] = seeds.flatMap((s) => {
    const dir = `hosts/${s.host}`;
    const iso = buildCidataIso([
      { name: 'user-data', content: s.userData },
      { name: 'meta-data', content: s.metaData },
      { name: 'network-config', content: s.networkConfig },
    ], { volumeLabel: 'cidata' });
    return [
      { path: `${dir}/user-data`, content: s.userData, mode: 0o600 },
      { path: `${dir}/meta-data`, content: s.metaData, mode: 0o644 },
      { path: `${dir}/network-config`, content: s.networkConfig, mode: 0o644 },
      { path: `${dir}/cidata.iso`, content: iso, mode: 0o600 },
      ...(s.userDataGzipBase64 ? [{ path: `${dir}/user-data.gz.b64`, content: s.userDataGzipBase64, mode: 0o600 }] : []),
    ];
  });
  files.push({
    path: 'admin.kubeconfig',
    content: renderTemplate('kubernetes/kubeconfig.hbs', adminKubeconfig(cluster, bundle)),
    mode: 0o600,
  });
  return { files, seeds };
}
