/**
 * VMware vSphere: per host, the guestinfo values cloud-init's VMware
 * datasource reads (guestinfo.userdata and guestinfo.metadata, gzip+base64,
 * the metadata carrying network-config under `network`), and create-vms.sh,
 * a govc script that clones the golden template per host in START_ORDER,
 * sets the values and powers the VM on.
 *
 * vSphere caps each guestinfo value at 64 KiB (USER_DATA_LIMIT). A host whose
 * encoded user-data is still larger boots from its cidata.iso instead,
 * uploaded to the datastore and inserted into the template's CD-ROM drive.
 */
import { gzipSync } from 'node:zlib';
import type { Cluster, Platform } from '../../model/types.ts';
import type { OutputFile } from '../../output/tree.ts';
import { USER_DATA_LIMIT, type HostSeed } from '../hosts.ts';
import type { SeedFacts } from './index.ts';
import { renderTemplate } from '../templates.ts';
import { startOrder } from './order.ts';

type Vsphere = Extract<Platform, { type: 'vsphere' }>;

/** gzip (no name, no time: the same bytes every run) then base64, the `gzip+base64` encoding. */
export const gzipBase64 = (text: string) => gzipSync(text, { level: 9 }).toString('base64');

export interface Guestinfo { userdata: string; metadata: string }

/** The two values of a host: its meta-data with its network-config added under `network`. */
export function guestinfo(seed: HostSeed): Guestinfo {
  const metadata = `${seed.metaData}network: ${gzipBase64(seed.networkConfig)}\nnetwork.encoding: gzip+base64\n`;
  return { userdata: gzipBase64(seed.userData), metadata: gzipBase64(metadata) };
}

/** Whether both values fit vSphere's guestinfo limit; a host that does not boots from its ISO. */
export const fitsGuestinfo = (values: Guestinfo) => values.userdata.length <= USER_DATA_LIMIT && values.metadata.length <= USER_DATA_LIMIT;

/** A host's guestinfo values as files, for `govc vm.change -e guestinfo.userdata="$(cat ...)"`. */
export function guestinfoFiles(host: string, values: Guestinfo): OutputFile[] {
  return [
    { path: `vsphere/hosts/${host}/guestinfo.userdata`, content: values.userdata, mode: 0o600 },
    { path: `vsphere/hosts/${host}/guestinfo.metadata`, content: values.metadata, mode: 0o600 },
  ];
}

export function renderVsphere(cluster: Cluster, platform: Vsphere, facts: SeedFacts): OutputFile[] {
  const files: OutputFile[] = [];
  const hosts = startOrder(cluster).map((h) => {
    const { fits, userdataBytes } = facts.get(h.name)!.guestinfo!;
    return {
      name: h.name,
      roles: h.roles.join(', '),
      vm: h.vm,
      mac: h.network.macAddress,
      seedVia: fits ? 'guestinfo' : 'cdrom',
      userdataKiB: (userdataBytes / 1024).toFixed(1),
      iso: `ha-k8s-seed/${cluster.name}/${h.name}-cidata.iso`,
    };
  });
  // govc's location flags, each only when the spec names it (govc's GOVC_* environment otherwise).
  const location = [
    ['-dc', platform.datacenter], ['-ds', platform.datastore], ['-folder', platform.folder], ['-pool', platform.resourcePool],
  ].filter((f): f is [string, string] => f[1] !== undefined).map(([flag, value]) => ({ flag, value }));
  files.push({
    path: 'vsphere/create-vms.sh',
    content: renderTemplate('platforms/vsphere/create-vms.sh.hbs', {
      cluster: cluster.name, platform, hosts, location,
      dc: platform.datacenter ? [{ flag: '-dc', value: platform.datacenter }] : [],
      ds: platform.datastore ? [{ flag: '-ds', value: platform.datastore }] : [],
      limitKiB: USER_DATA_LIMIT / 1024,
    }),
    mode: 0o755,
  });
  return files;
}
