#!/usr/bin/env node
// STAND-IN for govc (vmware/govmomi), for tests only: vSphere cannot run here.
// It accepts only the commands the generated scripts use, each with exactly
// the options govc's USAGE.md documents for it (plus govc's common options),
// parses them as govc does (Go's flag package: `-name value` or `-name=value`,
// a boolean only as `-name` or `-name=true|false`, flags end at the first
// argument that is not one), refuses what vCenter would (an unknown template
// or VM, an existing name, a relative -f path, a shrinking disk), keeps the
// inventory in $GOVC_STANDIN_STATE (JSON) and records every call, one JSON
// array per line, in $GOVC_STANDIN_LOG.
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';

const [command, ...rest] = process.argv.slice(2);
const statePath = process.env.GOVC_STANDIN_STATE;
if (!statePath) fail('GOVC_STANDIN_STATE must be set (test stand-in)');
appendFileSync(process.env.GOVC_STANDIN_LOG ?? '/dev/null', `${JSON.stringify(['govc', command, ...rest])}\n`);
function fail(message) { process.stderr.write(`govc (stand-in): ${message}\n`); process.exit(1); }

// govc's common options (USAGE.md, "filtered out in this document"); b = boolean.
const COMMON = { cert: 's', debug: 'b', trace: 'b', verbose: 'b', dump: 'b', json: 'b', xml: 'b', k: 'b', key: 's', 'persist-session': 'b', 'tls-ca-certs': 's', 'tls-known-hosts': 's', u: 's', 'vim-namespace': 's', 'vim-version': 's', dc: 's' };
// Per command, from govc/USAGE.md; `many` options may repeat. args: the positional count [min, max].
const COMMANDS = {
  'vm.clone': { args: [1, 1], options: { annotation: 's', c: 's', cluster: 's', customization: 's', 'datastore-cluster': 's', ds: 's', folder: 's', force: 'b', host: 's', link: 'b', m: 's', net: 's', 'net.adapter': 's', 'net.address': 's', 'net.protocol': 's', on: 'b', pool: 's', snapshot: 's', template: 'b', vm: 's', waitip: 'b' } },
  'vm.change': { args: [0, 0], many: ['e', 'f'], options: { annotation: 's', c: 's', 'cpu-hot-add-enabled': 'b', 'cpu.limit': 's', 'cpu.reservation': 's', 'cpu.shares': 's', e: 's', f: 's', g: 's', latency: 's', m: 's', 'mem.limit': 's', 'mem.reservation': 's', 'mem.shares': 's', 'memory-hot-add-enabled': 'b', name: 's', 'nested-hv-enabled': 'b', 'sync-time-with-host': 'b', uuid: 's', vm: 's' } },
  'vm.disk.change': { args: [0, 0], options: { 'disk.filePath': 's', 'disk.key': 's', 'disk.label': 's', 'disk.name': 's', mode: 's', sharing: 's', size: 's', vm: 's' } },
  'vm.power': { args: [1, Infinity], options: { M: 'b', force: 'b', off: 'b', on: 'b', r: 'b', reset: 'b', s: 'b', standby: 'b', suspend: 'b', wait: 'b' } },
  'datastore.mkdir': { args: [1, 1], options: { ds: 's', namespace: 'b', p: 'b' } },
  'datastore.upload': { args: [2, 2], options: { ds: 's' } },
  'device.cdrom.insert': { args: [1, 1], options: { device: 's', ds: 's', vm: 's' } },
};

const spec = COMMANDS[command] ?? fail(`stand-in does not know the command ${command ?? '(none)'}`);
const opts = {};
let i = 0;
for (; i < rest.length; i++) {
  const a = rest[i];
  if (a === '--') { i++; break; }
  if (!/^--?[^-]/.test(a)) break;
  const [name, inline] = a.replace(/^--?/, '').split(/=(.*)/s, 2);
  const kind = spec.options[name] ?? COMMON[name] ?? fail(`flag provided but not defined: -${name}`);
  let value;
  if (kind === 'b') {
    if (inline !== undefined && !/^(true|false|1|0)$/.test(inline)) fail(`invalid boolean value "${inline}" for -${name}`);
    value = inline === undefined ? 'true' : inline;
  } else {
    if (inline !== undefined) value = inline;
    else if (i + 1 < rest.length) value = rest[++i];
    else fail(`flag needs an argument: -${name}`);
  }
  if (spec.many?.includes(name)) (opts[name] ??= []).push(value);
  else if (name in opts) fail(`-${name} given twice`);
  else opts[name] = value;
}
const positional = rest.slice(i);
if (positional.some((p) => p.startsWith('-'))) fail(`a flag after the arguments is not parsed by govc: ${positional.join(' ')}`);
if (positional.length < spec.args[0] || positional.length > spec.args[1]) fail(`${command}: wrong number of arguments: ${positional.join(' ')}`);

const state = JSON.parse(readFileSync(statePath, 'utf8'));
const vmNamed = (name) => state.vms[name] ?? fail(`vm '${name}' not found`);
const bytes = (text) => {
  const m = /^(\d+)([BKMGTPE]?)(ib|b)?$/i.exec(text ?? '') ?? fail(`invalid byte value ${text}`);
  return Number(m[1]) * 1024 ** 'BKMGTPE'.indexOf((m[2] || 'B').toUpperCase());
};
const dc = opts.dc ?? process.env.GOVC_DATACENTER;
if (state.datacenter && dc !== state.datacenter) fail(`datacenter '${dc}' not found`);

switch (command) {
  case 'vm.clone': {
    const source = state.templates[opts.vm] ?? fail(`vm '${opts.vm}' not found`);
    const name = positional[0];
    if (state.vms[name]) fail(`The name '${name}' already exists.`);
    if (!/^[1-9]\d*$/.test(opts.c ?? '') || !/^[1-9]\d*$/.test(opts.m ?? '')) fail('-c and -m must be positive numbers here');
    if (opts['net.address'] && !/^00:50:56:[0-3][0-9a-f](:[0-9a-f]{2}){2}$/i.test(opts['net.address'])) fail(`the MAC address ${opts['net.address']} is outside the range vCenter accepts`);
    if (opts.net && !state.networks.includes(opts.net)) fail(`network '${opts.net}' not found`);
    for (const k of ['ds', 'folder', 'pool']) if (opts[k] && !state[k === 'ds' ? 'datastores' : `${k}s`].includes(opts[k])) fail(`${k} '${opts[k]}' not found`);
    state.vms[name] = {
      cpus: Number(opts.c), memoryMB: Number(opts.m), powered: opts.on !== 'false',
      nic: { network: opts.net, adapter: opts['net.adapter'] ?? 'e1000', mac: opts['net.address'] },
      disks: structuredClone(source.disks), cdrom: source.cdrom ? { iso: null } : undefined, extraConfig: {},
    };
    break;
  }
  case 'vm.disk.change': {
    const vm = vmNamed(opts.vm);
    const disk = vm.disks[opts['disk.name']] ?? fail(`disk '${opts['disk.name']}' not found`);
    const size = bytes(opts.size);
    if (size < disk.bytes) fail('disk shrinking is not supported');
    disk.bytes = size;
    break;
  }
  case 'vm.change': {
    const vm = vmNamed(opts.vm);
    for (const e of opts.e ?? []) {
      const [k, v] = e.split(/=(.*)/s, 2);
      if (v === undefined) fail(`-e ${e}: expected <key>=<value>`);
      vm.extraConfig[k] = v;
    }
    for (const f of opts.f ?? []) {
      const [k, path] = f.split(/=(.*)/s, 2);
      if (!path || !isAbsolute(path)) fail(`-f ${f}: expected <key>=<absolute path to file>`);
      if (!existsSync(path) || !statSync(path).isFile()) fail(`-f ${f}: no such file`);
      vm.extraConfig[k] = readFileSync(path, 'utf8');
    }
    break;
  }
  case 'vm.power': {
    if (opts.on !== 'true') fail('stand-in knows only vm.power -on');
    for (const name of positional) {
      const vm = vmNamed(name);
      if (vm.powered) fail(`${name} is already powered on`);
      vm.powered = true;
    }
    break;
  }
  case 'datastore.mkdir': {
    const ds = opts.ds ?? process.env.GOVC_DATASTORE ?? fail('-ds or GOVC_DATASTORE is needed');
    const dirs = (state.dirs[ds] ??= []);
    const parts = positional[0].split('/');
    if (opts.p !== 'true' && parts.length > 1 && !dirs.includes(parts.slice(0, -1).join('/'))) fail(`cannot create ${positional[0]}: parent is missing (use -p)`);
    for (let n = 1; n <= parts.length; n++) if (!dirs.includes(parts.slice(0, n).join('/'))) dirs.push(parts.slice(0, n).join('/'));
    break;
  }
  case 'datastore.upload': {
    const [local, remote] = positional;
    if (!existsSync(local)) fail(`${local}: no such file`);
    const ds = opts.ds ?? process.env.GOVC_DATASTORE ?? fail('-ds or GOVC_DATASTORE is needed');
    if (remote.includes('/') && !state.dirs[ds]?.includes(remote.slice(0, remote.lastIndexOf('/')))) fail(`${remote}: the folder does not exist on [${ds}]`);
    (state.files[ds] ??= {})[remote] = readFileSync(local).toString('base64');
    break;
  }
  case 'device.cdrom.insert': {
    const vm = vmNamed(opts.vm);
    if (!vm.cdrom) fail(`no CD-ROM device on ${opts.vm}`);
    const ds = opts.ds ?? process.env.GOVC_DATASTORE;
    if (!state.files[ds]?.[positional[0]]) fail(`[${ds}] ${positional[0]} was not found`);
    vm.cdrom.iso = `[${ds}] ${positional[0]}`;
    break;
  }
}
writeFileSync(statePath, JSON.stringify(state, null, 2));
