#!/usr/bin/env node
// STAND-IN for Proxmox VE's `qm` (and, installed as `pvesm`, for `pvesm path`),
// for tests only: Proxmox cannot run here. It accepts only the subcommands and
// options qm(1)/pvesm(1) of Proxmox VE 8 document for what the generated
// scripts use, checks their values the way Proxmox would refuse them (unknown
// VMID, existing VMID, missing disk or ISO volume, malformed net0/ide2/size),
// keeps the VMs' configurations in $QM_STANDIN_STATE (JSON) and records every
// call, one JSON array per line, in $QM_STANDIN_LOG.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const tool = process.argv[2]; // qm or pvesm: the launcher says which
const args = process.argv.slice(3);
const statePath = process.env.QM_STANDIN_STATE;
const root = process.env.QM_STANDIN_ROOT; // stands in for the node's file system (ISO storage paths)
if (!statePath || !root) fail('QM_STANDIN_STATE and QM_STANDIN_ROOT must be set (test stand-in)');
appendFileSync(process.env.QM_STANDIN_LOG ?? '/dev/null', `${JSON.stringify([tool, ...args])}\n`);

function fail(message, code = 255) { process.stderr.write(`${tool} (stand-in): ${message}\n`); process.exit(code); }
const state = () => JSON.parse(readFileSync(statePath, 'utf8'));
const save = (s) => writeFileSync(statePath, JSON.stringify(s, null, 2));

// qm(1), PVE 8: the options of the subcommands the generated scripts use.
const CLONE_OPTIONS = ['bwlimit', 'description', 'format', 'full', 'name', 'pool', 'snapname', 'storage', 'target'];
const START_OPTIONS = ['forcecpu', 'machine', 'migratedfrom', 'migration_network', 'migration_type', 'skiplock', 'stateuri', 'targetstorage', 'timeout'];
const RESIZE_OPTIONS = ['digest', 'skiplock'];
// `qm set` takes the VM configuration keys (qm.conf(5)) plus these.
const SET_OPTIONS = ['delete', 'digest', 'force', 'revert', 'skiplock'];
const CONFIG_KEY = /^(acpi|agent|balloon|bios|boot|cicustom|cipassword|citype|ciuser|ciupgrade|cores|cpu|cpulimit|description|efidisk0|ipconfig\d+|machine|memory|name|nameserver|net\d+|numa|onboot|ostype|sata[0-5]|scsi([0-9]|[12][0-9]|30)|scsihw|searchdomain|serial[0-3]|sockets|sshkeys|startup|tags|vcpus|vga|virtio([0-9]|1[0-5])|ide[0-3])$/;

/** `--key value` pairs and positional arguments, refusing any option `allowed` does not list. */
function parse(list, allowed, positional) {
  const pos = [];
  const opts = {};
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    if (a.startsWith('-')) {
      const key = a.replace(/^--?/, '');
      if (!allowed(key)) fail(`400 unknown option: ${a}`);
      if (i + 1 >= list.length) fail(`400 option ${a} needs a value`);
      opts[key] = list[++i];
    } else pos.push(a);
  }
  if (pos.length !== positional) fail(`400 expected ${positional} arguments, got ${pos.length}: ${pos.join(' ')}`);
  return { pos, opts };
}
const vmid = (text) => { if (!/^[1-9]\d{2,8}$/.test(text)) fail(`400 invalid VMID ${text}`); return text; };
const vm = (s, id) => s.vms[id] ?? fail(`Configuration file 'nodes/pve/qemu-server/${id}.conf' does not exist`, 2);
const isoPath = (volume) => {
  const m = /^([A-Za-z][A-Za-z0-9_.-]*):iso\/([^/]+\.iso)$/.exec(volume);
  if (!m) fail(`400 not an ISO volume: ${volume}`);
  const s = state();
  if (!s.isoStorages.includes(m[1])) fail(`storage '${m[1]}' does not exist or has no iso content`);
  return join(root, 'var/lib/vz/template/iso', `${m[1]}-${m[2]}`);
};

if (tool === 'pvesm') {
  const [sub, ...rest] = args;
  if (sub !== 'path') fail(`stand-in knows only pvesm path, not ${sub}`);
  const { pos } = parse(rest, () => false, 1);
  process.stdout.write(`${isoPath(pos[0])}\n`);
  process.exit(0);
}

const [sub, ...rest] = args[0] === 'disk' ? [`disk ${args[1]}`, ...args.slice(2)] : args;
const s = state();
switch (sub) {
  case 'clone': {
    const { pos: [from, to], opts } = parse(rest, (k) => CLONE_OPTIONS.includes(k), 2);
    const source = vm(s, vmid(from));
    if (s.vms[vmid(to)]) fail(`unable to create VM ${to}: config file already exists`);
    if (opts.full !== undefined && !['0', '1'].includes(opts.full)) fail(`400 full: ${opts.full} is not a boolean`);
    if (opts.storage && !source.template) fail('400 storage: only for a full clone of a template or VM');
    if (opts.storage && !s.storages.includes(opts.storage)) fail(`storage '${opts.storage}' does not exist`);
    s.vms[to] = { config: { ...source.config, ...(opts.name ? { name: opts.name } : {}) }, template: false, running: false };
    break;
  }
  case 'set': {
    const { pos: [id], opts } = parse(rest, (k) => SET_OPTIONS.includes(k) || CONFIG_KEY.test(k), 1);
    const target = vm(s, vmid(id));
    if (target.running && Object.keys(opts).some((k) => /^(ide|sata|scsi|virtio)\d/.test(k))) fail('VM is running: hotplug not stood in');
    for (const key of opts.delete?.split(',') ?? []) {
      if (!CONFIG_KEY.test(key)) fail(`400 delete: unknown key ${key}`);
      delete target.config[key];
    }
    for (const [key, value] of Object.entries(opts)) {
      if (SET_OPTIONS.includes(key)) continue;
      if (/^(cores|sockets|memory|vcpus)$/.test(key) && !/^[1-9]\d*$/.test(value)) fail(`400 ${key}: ${value} is not a positive integer`);
      if (/^net\d+$/.test(key) && !/^(virtio|e1000|vmxnet3|rtl8139)(=[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5})?(,(bridge|firewall|tag|mtu|queues)=[^,]+)*$/.test(value)) fail(`400 ${key}: invalid format ${value}`);
      if (/^ide\d$/.test(key) && value.includes('media=cdrom') && !existsSync(isoPath(value.split(',')[0]))) fail(`volume '${value.split(',')[0]}' does not exist`);
      target.config[key] = value;
    }
    break;
  }
  case 'disk resize':
  case 'resize': {
    const { pos: [id, disk, size] } = parse(rest, (k) => RESIZE_OPTIONS.includes(k), 3);
    const target = vm(s, vmid(id));
    if (!target.config[disk]) fail(`disk '${disk}' does not exist`);
    const m = /^\+?(\d+)([KMGT])?$/.exec(size);
    if (!m) fail(`400 size: invalid format ${size}`);
    const gib = (n, unit) => Number(n) * ({ K: 1 / (1 << 20), M: 1 / 1024, G: 1, T: 1024 }[unit ?? 'G']);
    const current = gib(...(/size=(\d+)([KMGT])/.exec(target.config[disk]) ?? [0, 0, 'G']).slice(1));
    const wanted = size.startsWith('+') ? current + gib(m[1], m[2]) : gib(m[1], m[2]);
    if (wanted < current) fail(`shrinking disks is not supported`);
    target.config[disk] = target.config[disk].replace(/size=\d+[KMGT]/, `size=${wanted}G`);
    break;
  }
  case 'start': {
    const { pos: [id] } = parse(rest, (k) => START_OPTIONS.includes(k), 1);
    const target = vm(s, vmid(id));
    if (target.template) fail('you can\'t start a vm if it\'s a template');
    if (target.running) fail(`VM ${id} already running`);
    target.running = true;
    break;
  }
  default:
    fail(`stand-in does not know qm ${sub ?? '(nothing)'}`);
}
save(s);
