/**
 * The order of a change and the commands between its steps. The order keeps
 * etcd's quorum and the API reachable: etcd members one at a time, control
 * planes one at a time (new ones first, so capacity grows before any goes
 * down), load balancers backup before master, workers last and drained one at
 * a time; removals after everything else, workers first and etcd members last.
 */
import { join } from 'node:path';
import { CONFIG, PORTS } from '../model/paths.ts';
import { isNode, PROVISION_TIERS, provisionTier, type Cluster } from '../model/types.ts';
import { ON_HOST } from '../pki/on-host.ts';
import { NGINX_UPSTREAM } from '../roles/load-balancer.ts';
import { SEED } from '../roles/paths.ts';
import type { HostAction, HostPlan } from './plan.ts';

export interface PlanStep {
  host: string;
  action: Exclude<HostAction, 'keep'>;
  title: string;
  /** What the operator runs, in order, for this step. */
  commands: string[];
  /** What the step costs while it runs, when it costs anything. */
  cost?: string;
}

const clientUrl = (address: string) => `https://${address}:${PORTS.etcdClient}`;

interface Context {
  cluster: Cluster;
  /** etcd members that join the running cluster in this change, and those that leave it (model/etcd-membership.ts). */
  joining: ReadonlySet<string>;
  leaving: ReadonlySet<string>;
  hosts: Record<string, HostPlan>;
  kubectl: string;
  /** The load balancers are all new: the VIP serves only once they are up. */
  endpointIsNew: boolean;
}

/** etcdctl, run over ssh on another member; it talks to `endpoints` (that member by default). */
type Etcdctl = (endpoints?: string) => string;

/** etcdctl on a member that this change leaves alone, with that member's client certificate. */
function etcdctl(ctx: Context, notOn: string): Etcdctl | undefined {
  const other = Object.entries(ctx.hosts).find(([name, h]) => name !== notOn && h.roles.includes('etcd') && h.action === 'keep')
    ?? Object.entries(ctx.hosts).find(([name, h]) => name !== notOn && h.roles.includes('etcd') && h.action !== 'remove' && h.action !== 'create');
  if (!other) return undefined;
  const [name, host] = other;
  const certs = `--cacert=${ON_HOST.etcdCa.cert.path} --cert=${ON_HOST.etcdHealthcheckClient.cert.path} --key=${ON_HOST.etcdHealthcheckClient.key.path}`;
  return (endpoints = clientUrl(host.address)) => `ssh ${name} sudo etcdctl --endpoints=${endpoints} ${certs}`;
}

/**
 * How the host's VM is (re)made: a new VM; a replaced one that keeps its etcd
 * data (etcd ignores its initial-cluster flags when its data directory
 * exists, so the member rejoins as itself); or a fresh disk.
 */
type Boot = 'new-vm' | 'keep-etcd-data' | 'fresh-disk';

function bootCommands(name: string, boot: Boot): string[] {
  return [
    {
      'new-vm': `boot a new VM for ${name} from the golden image with hosts/${name}/cidata.iso (see README.md for your platform)`,
      'keep-etcd-data': `replace ${name}'s VM from the golden image with hosts/${name}/cidata.iso, keeping its etcd data (${CONFIG.etcdDataDir}, on its own disk)`,
      'fresh-disk': `replace ${name}'s VM: a fresh disk from the golden image, booted with hosts/${name}/cidata.iso`,
    }[boot],
    `ssh ${name} cat ${SEED.doneMarker}    # wait until it exists (bootstrap.failed names a failed step)`,
  ];
}

/**
 * `etcdctl member remove` of a member, by the ID `member list` shows; a
 * leader hands its leadership on first, so no election interrupts writes.
 */
function memberRemove(ctl: Etcdctl, name: string, endpoint: string): string[] {
  return [
    `${ctl()} member list    # note ${name}'s member ID, and another member's`,
    `${ctl()} endpoint status --cluster    # if ${name} IS LEADER: ${ctl(endpoint)} move-leader <ID of another member>`,
    `${ctl()} member remove <ID of ${name}>`,
  ];
}

/**
 * `endpointPending`: the load balancers of this change are not up yet, so the
 * VIP that admin.kubeconfig now names does not answer: kubectl talks to the
 * host's own apiserver instead, and a node's kubelet (which dials the VIP)
 * registers only once they are.
 */
/**
 * What running etcd on `running` of `members` members leaves: quorum is a
 * majority of the members, so a member added but not yet started counts
 * against it as much as one that is down.
 */
function etcdMargin(running: number, members: number): string {
  const spare = running - (Math.floor(members / 2) + 1);
  return spare <= 0 ? 'one more failure would stop writes' : `it survives ${spare} more failure${spare > 1 ? 's' : ''}`;
}

/**
 * `etcdMembers`: how many members the running etcd cluster has when the step
 * starts (the earlier steps' joins and removals counted).
 */
function stepFor(ctx: Context, name: string, host: HostPlan, etcdMembers: number, endpointPending: boolean): PlanStep {
  const isCp = host.roles.includes('control-plane');
  const kubectl = endpointPending && isCp
    ? `${ctx.kubectl} --server=https://${host.address}:${ctx.cluster.kubernetes.apiserverPort}`
    : ctx.kubectl;
  const node = isNode(host);
  const etcd = host.roles.includes('etcd');
  const lb = host.roles.includes('load-balancer');
  const commands: string[] = [];
  const costs: string[] = [];
  const action = host.action as PlanStep['action'];

  // A member joining the running cluster is added before it starts (its seed says
  // --initial-cluster-state=existing); one that changes its address leaves first, as itself.
  const joins = etcd && ctx.joining.has(name);
  const leaves = ctx.leaving.has(name);
  const ctl = etcd || leaves ? etcdctl(ctx, name) : undefined;
  if (action === 'remove') {
    if (node) commands.push(`${kubectl} drain ${name} --ignore-daemonsets --delete-emptydir-data`);
    if (ctl) commands.push(...memberRemove(ctl, name, clientUrl(host.address)));
    commands.push(`power off and delete ${name}'s VM`);
    if (node) commands.push(`${kubectl} delete node ${name}`);
  } else {
    if (node && action === 'reprovision') commands.push(`${kubectl} drain ${name} --ignore-daemonsets --delete-emptydir-data`);
    // Its old address is in the old seed only: the operator fills it in.
    if (leaves && action === 'reprovision' && ctl) commands.push(...memberRemove(ctl, name, `<${name}'s old client URL>`));
    if (joins && ctl) commands.push(`${ctl()} member add ${name} --peer-urls=https://${host.address}:${PORTS.etcdPeer}`);
    const boot: Boot = action === 'create' ? 'new-vm' : etcd && !joins ? 'keep-etcd-data' : 'fresh-disk';
    commands.push(...bootCommands(name, boot));
    // The bootstrap starts the apiserver without waiting for it: bootstrap.done does not say it serves.
    if (isCp) commands.push(`${ctx.kubectl} --server=https://${host.address}:${ctx.cluster.kubernetes.apiserverPort} get --raw /readyz    # until it prints ok`);
    if (etcd && ctl) commands.push(`${ctl()} endpoint health --cluster`);
    if (node && !endpointPending) commands.push(`${kubectl} get node ${name}    # Ready`);
    if (node && action === 'reprovision') commands.push(`${kubectl} uncordon ${name}`);
    // nginx still rests this apiserver for failTimeout after the connections it refused while down;
    // the next control plane going down before that would leave the load balancers no apiserver.
    if (isCp && action === 'reprovision' && ctx.cluster.loadBalancer && !ctx.endpointIsNew) {
      commands.push(`sleep ${NGINX_UPSTREAM.failTimeout}    # nginx counts an apiserver that refused ${NGINX_UPSTREAM.maxFails} connections as down for ${NGINX_UPSTREAM.failTimeout}: wait that out before the next control plane`);
    }
  }

  if (joins) {
    // `member add` counts the new member in the quorum before it runs; one that changes address left just before.
    const members = leaves ? etcdMembers : etcdMembers + 1;
    costs.push(`etcd has ${members} members, ${members - 1} of them running, until ${name} has started: ${etcdMargin(members - 1, members)}`);
  } else if ((leaves || etcd) && action === 'remove') {
    costs.push(`etcd goes from ${etcdMembers} to ${etcdMembers - 1} members, all running: ${etcdMargin(etcdMembers - 1, etcdMembers - 1)}`);
  } else if (etcd && action === 'reprovision') {
    costs.push(`etcd runs on ${etcdMembers - 1} of ${etcdMembers} members meanwhile: ${etcdMargin(etcdMembers - 1, etcdMembers)}`);
  }
  if (action !== 'create') {
    if (host.roles.includes('control-plane')) {
      costs.push(ctx.cluster.loadBalancer && !ctx.endpointIsNew
        ? 'its apiserver is out of the load balancers\' rotation meanwhile: nginx sends new connections to the others, '
          + 'but connections open to it when it stops (requests in flight, watches) are cut and their clients must retry'
        : `the API is unreachable for clients that reach it at ${host.address} (every node not yet re-provisioned) until it is back`);
    }
    if (lb) {
      const member = ctx.cluster.loadBalancer?.members.find((m) => m.host === name);
      if (member?.initialState === 'MASTER') costs.push('the VIP moves to the backup load balancer (a few seconds of failed connections) and back when it returns');
      else costs.push('none while the master load balancer holds the VIP');
    }
    if (node) costs.push('its pods are evicted by the drain and rescheduled elsewhere');
  }
  const verb = { create: 'create', reprovision: 're-provision', remove: 'remove' }[action];
  return { host: name, action, title: `${verb} ${name} (${host.roles.join(', ')})`, commands, ...(costs.length ? { cost: costs.join('; ') } : {}) };
}

function lbOrder(cluster: Cluster, name: string): number {
  // Lowest VRRP priority first: the backup before the master.
  return cluster.loadBalancer?.members.find((m) => m.host === name)?.priority ?? 0;
}

export function orderSteps(
  cluster: Cluster, hosts: Record<string, HostPlan>, firstRun: boolean, clusterDir: string,
  membership: { joining: readonly string[]; leaving: readonly string[]; refounded: boolean },
): {
  steps: PlanStep[];
  availability: string[];
  warnings: string[];
} {
  if (firstRun) return { steps: [], availability: [], warnings: [] };
  const entries = Object.entries(hosts);
  const endpointIsNew = cluster.loadBalancer !== undefined
    && entries.every(([, h]) => !h.roles.includes('load-balancer') || h.action === 'create');
  const ctx: Context = {
    cluster, hosts, endpointIsNew, kubectl: `kubectl --kubeconfig ${join(clusterDir, 'admin.kubeconfig')}`,
    joining: new Set(membership.joining), leaving: new Set(membership.leaving),
  };
  // The running etcd cluster's size as the steps go: the recorded members (those staying and those leaving), then each join and removal.
  let etcdMembers = new Set([...entries.filter(([name, h]) => h.roles.includes('etcd') && h.action !== 'create' && !ctx.joining.has(name)).map(([name]) => name), ...ctx.leaving]).size;
  const steps: PlanStep[] = [];
  const push = (name: string, host: HostPlan, endpointPending: boolean) => {
    steps.push(stepFor(ctx, name, host, etcdMembers, endpointPending));
    const leaves = ctx.leaving.has(name) || (host.action === 'remove' && host.roles.includes('etcd'));
    etcdMembers += (ctx.joining.has(name) ? 1 : 0) - (leaves ? 1 : 0);
  };
  for (const tier of PROVISION_TIERS) {
    const endpointPending = endpointIsNew && PROVISION_TIERS.indexOf(tier) < PROVISION_TIERS.indexOf('load-balancer');
    // etcd members join in the order their seeds expect (each one's initial cluster lists those before it).
    const joiners = membership.joining.map((name) => [name, hosts[name]!] as const).filter(([, h]) => provisionTier(h.roles) === tier);
    for (const [name, host] of joiners) push(name, host, endpointPending);
    for (const action of ['create', 'reprovision'] as const) {
      const group = entries.filter(([name, h]) => h.action === action && provisionTier(h.roles) === tier && !ctx.joining.has(name));
      if (tier === 'load-balancer') group.sort(([a], [b]) => lbOrder(cluster, a) - lbOrder(cluster, b));
      for (const [name, host] of group) push(name, host, endpointPending);
    }
    if (tier === 'load-balancer' && endpointIsNew && steps.length) {
      steps.at(-1)!.commands.push(`${ctx.kubectl} get nodes    # through the VIP now; every node re-provisioned so far is Ready`);
    }
  }
  for (const tier of [...PROVISION_TIERS].reverse()) {
    for (const [name, host] of entries.filter(([, h]) => h.action === 'remove' && provisionTier(h.roles) === tier)) {
      push(name, host, false);
    }
  }

  const availability: string[] = [];
  const warnings: string[] = [];
  const touchedEtcd = steps.filter((s) => hosts[s.host]!.roles.includes('etcd'));
  if (touchedEtcd.length) {
    availability.push(`etcd: ${touchedEtcd.length} member(s) changed one at a time; quorum holds as long as each step ends healthy (endpoint health) before the next`);
  }
  if (membership.refounded) {
    warnings.push('no etcd member of the running cluster stays in this spec: its members start a new, empty etcd cluster. '
      + 'Keep at least one member, or restore a snapshot into the new members (README: "etcd backups")');
  }
  const cps = steps.filter((s) => hosts[s.host]!.roles.includes('control-plane') && s.action !== 'create');
  if (cps.length) {
    availability.push(cluster.loadBalancer
      ? endpointIsNew
        ? `API: each control plane re-provisioned before the load balancers exist is unreachable for the nodes still pointing at it, until it is back`
        : `API: stays up through the VIP ${cluster.loadBalancer.vip} while control planes are re-provisioned one at a time`
      : `API: down while the only control plane is re-provisioned`);
  }
  const workers = steps.filter((s) => provisionTier(hosts[s.host]!.roles) === 'worker' && s.action !== 'create');
  if (workers.length) availability.push(`workloads: ${workers.length} worker(s) drained one at a time; pods without another replica are down while theirs is evicted`);
  if (steps.length && availability.length === 0) availability.push('none: only new hosts are added');
  return { steps, availability, warnings };
}
