/**
 * Per-host seeds: hosts/<host>/user-data, meta-data, network-config and the
 * NoCloud cidata.iso carrying the three, plus the cluster's admin.kubeconfig.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { isNode, type Cluster, type Host } from '../model/types.ts';
import type { BootstrapToken, BootstrapTokens } from '../pki/bootstrap-tokens.ts';
import { buildCidataIso } from '../output/iso9660.ts';
import type { OutputFile } from '../output/tree.ts';
import type { PkiBundle } from '../pki/types.ts';
import { renderCloudConfig } from './cloud-config.ts';
import { adminKubeconfig } from '../roles/control-plane.ts';
import { KUBECONFIG_TEMPLATE } from '../roles/kubeconfig.ts';
import { CLOUD_INIT_DIR, renderTemplate } from './templates.ts';

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
  return renderTemplate('network-config.hbs', { host: host.name, address: host.address, ...host.network }, CLOUD_INIT_DIR);
}

/** Stable while the host's rendered seed is unchanged; any byte changed gives a new id. */
export function instanceId(host: Host, userData: string, networkConfig: string): string {
  const digest = createHash('sha256').update(userData).update('\0').update(networkConfig).digest('hex');
  return `${host.name}-${digest.slice(0, 16)}`;
}

export function renderHostSeed(cluster: Cluster, host: Host, bundle: PkiBundle): HostSeed {
  const { userData } = renderCloudConfig(cluster, host, bundle);
  const networkConfig = renderNetworkConfig(host);
  const metaData = renderTemplate('meta-data.hbs', {
    host: host.name,
    instanceId: instanceId(host, userData, networkConfig),
  }, CLOUD_INIT_DIR);
  const big = Buffer.byteLength(userData) > USER_DATA_LIMIT;
  return {
    host: host.name,
    userData,
    metaData,
    networkConfig,
    // Level 6, zlib's default: within a few per cent of 9 on text like this, at a fraction of its time.
    ...(big ? { userDataGzipBase64: `${gzipSync(userData, { level: 6 }).toString('base64')}\n` } : {}),
  };
}

/** What the summary needs of a seed: its sizes, not its text. */
export interface SeedSize { host: string; bytes: number; packed?: number }

export function seedSize(seed: HostSeed): SeedSize {
  return { host: seed.host, bytes: Buffer.byteLength(seed.userData), packed: seed.userDataGzipBase64?.length };
}

/**
 * The seeds' sizes in a few lines, however many hosts: the range, and the
 * hosts over each limit by name (counted past a handful).
 */
export function describeSeeds(sizes: readonly SeedSize[]): string[] {
  if (sizes.length === 0) return [];
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const smallest = sizes.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  const names = (list: readonly SeedSize[]) =>
    list.length <= 6 ? list.map((s) => s.host).join(', ') : `${list.slice(0, 5).map((s) => s.host).join(', ')} and ${list.length - 5} more`;
  const lines = [`user-data: ${sizes.length} hosts, ${kib(smallest.bytes)} (${smallest.host}) to ${kib(largest.bytes)} (${largest.host})`];
  const overGuestinfo = sizes.filter((s) => s.packed !== undefined);
  if (overGuestinfo.length) {
    lines.push(`  over the ${USER_DATA_LIMIT / 1024} KiB guestinfo limit, so user-data.gz.b64 (gzip+base64) was written too: ${names(overGuestinfo)}`);
    const still = overGuestinfo.filter((s) => s.packed! > USER_DATA_LIMIT);
    if (still.length) lines.push(`  still over it compressed, boot these from cidata.iso (no size limit): ${names(still)}`);
  }
  const overEc2 = sizes.filter((s) => s.bytes > EC2_USER_DATA_LIMIT);
  if (overEc2.length) lines.push(`  over EC2-style ${EC2_USER_DATA_LIMIT / 1024} KiB metadata limits: ${overEc2.length} of ${sizes.length} hosts`);
  return lines;
}

/** A host's files in its folder: the three seed files, the cidata ISO carrying them, and the gzip twin when over the limit. */
function seedFiles(s: HostSeed): OutputFile[] {
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
}

function adminKubeconfigFile(cluster: Cluster, bundle: PkiBundle): OutputFile {
  return { path: 'admin.kubeconfig', content: renderTemplate(KUBECONFIG_TEMPLATE, adminKubeconfig(cluster, bundle)), mode: 0o600 };
}

/**
 * Which bootstrap token a node's seed carries (pki/bootstrap-tokens.ts): the
 * one its previous seed carries while nothing else in that seed changes, so a
 * new token changes no running host's seed; otherwise the current one.
 */
export interface TokenChoice {
  tokens: BootstrapTokens;
  /** The host's user-data in the cluster folder as it is, if any. */
  previousUserData(host: string): string | undefined;
}

function renderWithToken(cluster: Cluster, host: Host, bundle: PkiBundle, choice: TokenChoice): HostSeed {
  if (!isNode(host)) return renderHostSeed(cluster, host, bundle);
  const withToken = (bootstrapToken: BootstrapToken): PkiBundle => ({ ...bundle, secrets: { ...bundle.secrets, bootstrapToken } });
  const previous = choice.previousUserData(host.name);
  const carried = previous === undefined ? undefined : choice.tokens.carriedBy(previous);
  if (carried) {
    const seed = renderHostSeed(cluster, host, withToken(carried));
    if (seed.userData === previous) return seed;
  }
  return renderHostSeed(cluster, host, withToken(choice.tokens.current));
}

/** Every host's seed, rendered one host at a time as the caller asks for it. */
export function* streamSeeds(cluster: Cluster, bundle: PkiBundle, tokens: TokenChoice): Generator<HostSeed> {
  for (const host of cluster.hosts) yield renderWithToken(cluster, host, bundle, tokens);
}

/**
 * Every host's files, rendered one host at a time as the writer asks for
 * them, then admin.kubeconfig: memory holds the hosts being written, not the
 * cluster. `withSeed` sees each seed as it is made (its sizes, the plan) and
 * returns the files others make of it (the platform's), written with it.
 */
export function* streamHosts(cluster: Cluster, bundle: PkiBundle, tokens: TokenChoice, withSeed: (seed: HostSeed) => readonly OutputFile[]): Generator<OutputFile> {
  for (const seed of streamSeeds(cluster, bundle, tokens)) {
    yield* seedFiles(seed);
    yield* withSeed(seed);
  }
  yield adminKubeconfigFile(cluster, bundle);
}

export interface RenderedHosts { files: OutputFile[]; seeds: HostSeed[] }

/** Every host at once, in memory: for tests and tools that look at the seeds themselves. */
export function renderHosts(cluster: Cluster, bundle: PkiBundle): RenderedHosts {
  const seeds = cluster.hosts.map((h) => renderHostSeed(cluster, h, bundle));
  return { files: [...seeds.flatMap(seedFiles), adminKubeconfigFile(cluster, bundle)], seeds };
}
