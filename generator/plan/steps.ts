/**
 * The order of a change and the commands between its steps. The order keeps
 * etcd's quorum and the API reachable: etcd members one at a time, control
 * planes one at a time (new ones first, so capacity grows before any goes
 * down), load balancers backup before master, workers last and drained one at
 * a time; removals after everything else, workers first and etcd members last.
 */
import { join } from 'node:path';
import { isNode, type Cluster, type Role } from '../model/types.ts';
import { HOST_PKI } from '../pki/types.ts';
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

/** The role a host is ordered by: the one whose availability matters most. */
type Tier = 'etcd' | 'control-plane' | 'load-balancer' | 'worker';
const TIERS: readonly Tier[] = ['etcd', 'control-plane', 'load-balancer', 'worker'];

/**
 * Control planes come before the load balancers, which must find a serving
 * apiserver (with the VIP in its certificate) behind them; a worker comes
 * after both, even when it is an etcd member too, because its kubeconfigs
 * point at the endpoint they make.
 */
function tierOf(roles: readonly Role[]): Tier {
  if (roles.includes('control-plane')) return 'control-plane';
  if (roles.includes('worker')) return 'worker';
  if (roles.includes('etcd')) return 'etcd';
  return 'load-balancer';
}

const ETCD_PORT = 2379;
const ETCD_PEER_PORT = 2380;
const DONE_MARKER = '/var/lib/ha-k8s-seed/bootstrap.done';
const ETCD_DATA_DIR = '/var/lib/etcd';

interface Context {
  cluster: Cluster;
  hosts: Record<string, HostPlan>;
  kubectl: string;
  /** The load balancers are all new: the VIP serves only once they are up. */
  endpointIsNew: boolean;
}

/** etcdctl on a member that this change leaves alone, with that member's client certificate. */
function etcdctl(ctx: Context, notOn: string): string | undefined {
  const other = Object.entries(ctx.hosts).find(([name, h]) => name !== notOn && h.roles.includes('etcd') && h.action === 'keep')
    ?? Object.entries(ctx.hosts).find(([name, h]) => name !== notOn && h.roles.includes('etcd') && h.action !== 'remove' && h.action !== 'create');
  if (!other) return undefined;
  const [name, host] = other;
  return `ssh ${name} sudo etcdctl --endpoints=https://${host.address}:${ETCD_PORT} `
    + `--cacert=${HOST_PKI.etcdDir}/ca.crt --cert=${HOST_PKI.etcdDir}/healthcheck-client.crt --key=${HOST_PKI.etcdDir}/healthcheck-client.key`;
}

function bootCommands(name: string, fresh: boolean, etcd: boolean): string[] {
  return [
    fresh
      ? `boot a new VM for ${name} from the golden image with hosts/${name}/cidata.iso (see README.md for your platform)`
      // etcd ignores its initial-cluster flags when its data directory exists, so
      // the member rejoins as itself; a fresh data directory could not rejoin.
      : etcd
        ? `replace ${name}'s VM from the golden image with hosts/${name}/cidata.iso, keeping its etcd data (${ETCD_DATA_DIR}, on its own disk)`
        : `replace ${name}'s VM: a fresh disk from the golden image, booted with hosts/${name}/cidata.iso`,
    `ssh ${name} cat ${DONE_MARKER}    # wait until it exists (bootstrap.failed names a failed step)`,
  ];
}

/**
 * `endpointPending`: the load balancers of this change are not up yet, so the
 * VIP that admin.kubeconfig now names does not answer: kubectl talks to the
 * host's own apiserver instead, and a node's kubelet (which dials the VIP)
 * registers only once they are.
 */
function stepFor(ctx: Context, name: string, host: HostPlan, etcdSize: number, endpointPending: boolean): PlanStep {
  const isCp = host.roles.includes('control-plane');
  const kubectl = endpointPending && isCp
    ? `${ctx.kubectl} --server=https://${host.address}:${ctx.cluster.kubernetes.apiserverPort}`
    : ctx.kubectl;
  const node = isNode(host);
  const etcd = host.roles.includes('etcd');
  const lb = host.roles.includes('load-balancer');
  const ctl = etcd ? etcdctl(ctx, name) : undefined;
  const commands: string[] = [];
  const costs: string[] = [];
  const action = host.action as PlanStep['action'];

  if (action === 'remove') {
    if (node) commands.push(`${kubectl} drain ${name} --ignore-daemonsets --delete-emptydir-data`);
    if (etcd && ctl) {
      commands.push(`${ctl} member list    # note ${name}'s member ID`);
      commands.push(`${ctl} member remove <ID of ${name}>`);
    }
    commands.push(`power off and delete ${name}'s VM`);
    if (node) commands.push(`${kubectl} delete node ${name}`);
  } else {
    if (node && action === 'reprovision') commands.push(`${kubectl} drain ${name} --ignore-daemonsets --delete-emptydir-data`);
    if (etcd && action === 'create' && ctl) commands.push(`${ctl} member add ${name} --peer-urls=https://${host.address}:${ETCD_PEER_PORT}`);
    commands.push(...bootCommands(name, action === 'create', etcd));
    if (etcd && ctl) commands.push(`${ctl} endpoint health --cluster`);
    if (node && !endpointPending) commands.push(`${kubectl} get node ${name}    # Ready`);
    if (node && action === 'reprovision') commands.push(`${kubectl} uncordon ${name}`);
  }

  if (action !== 'create') {
    if (etcd) costs.push(`etcd runs on ${etcdSize - 1} of ${etcdSize} members meanwhile: one more failure would stop writes`);
    if (host.roles.includes('control-plane')) {
      costs.push(ctx.cluster.loadBalancer && !ctx.endpointIsNew
        ? 'its apiserver is out of the load balancers\' rotation meanwhile; nginx sends requests to the others'
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

export function orderSteps(cluster: Cluster, hosts: Record<string, HostPlan>, firstRun: boolean, clusterDir: string): {
  steps: PlanStep[];
  availability: string[];
  warnings: string[];
} {
  if (firstRun) return { steps: [], availability: [], warnings: [] };
  const entries = Object.entries(hosts);
  const endpointIsNew = cluster.loadBalancer !== undefined
    && entries.every(([, h]) => !h.roles.includes('load-balancer') || h.action === 'create');
  const ctx: Context = { cluster, hosts, endpointIsNew, kubectl: `kubectl --kubeconfig ${join(clusterDir, 'admin.kubeconfig')}` };
  const etcdSize = entries.filter(([, h]) => h.roles.includes('etcd') && h.action !== 'create').length;
  const steps: PlanStep[] = [];
  for (const tier of TIERS) {
    const endpointPending = endpointIsNew && TIERS.indexOf(tier) < TIERS.indexOf('load-balancer');
    for (const action of ['create', 'reprovision'] as const) {
      const group = entries.filter(([, h]) => h.action === action && tierOf(h.roles) === tier);
      if (tier === 'load-balancer') group.sort(([a], [b]) => lbOrder(cluster, a) - lbOrder(cluster, b));
      for (const [name, host] of group) steps.push(stepFor(ctx, name, host, etcdSize, endpointPending));
    }
    if (tier === 'load-balancer' && endpointIsNew && steps.length) {
      steps.at(-1)!.commands.push(`${ctx.kubectl} get nodes    # through the VIP now; every node re-provisioned so far is Ready`);
    }
  }
  for (const tier of [...TIERS].reverse()) {
    for (const [name, host] of entries.filter(([, h]) => h.action === 'remove' && tierOf(h.roles) === tier)) {
      steps.push(stepFor(ctx, name, host, etcdSize, false));
    }
  }

  const availability: string[] = [];
  const warnings: string[] = [];
  const touchedEtcd = steps.filter((s) => hosts[s.host]!.roles.includes('etcd'));
  if (touchedEtcd.length) {
    availability.push(`etcd: ${touchedEtcd.length} member(s) changed one at a time; quorum holds as long as each step ends healthy (endpoint health) before the next`);
    const joining = touchedEtcd.filter((s) => s.action === 'create').map((s) => s.host);
    if (joining.length) {
      warnings.push(`etcd members ${joining.join(', ')} are new to a running cluster, but their seeds start etcd with --initial-cluster-state=new: `
        + 'this release cannot add a member to a running etcd cluster (it would found a second cluster); keep the etcd membership as it is');
    }
  }
  const cps = steps.filter((s) => hosts[s.host]!.roles.includes('control-plane') && s.action !== 'create');
  if (cps.length) {
    availability.push(cluster.loadBalancer
      ? endpointIsNew
        ? `API: each control plane re-provisioned before the load balancers exist is unreachable for the nodes still pointing at it, until it is back`
        : `API: stays up through the VIP ${cluster.loadBalancer.vip} while control planes are re-provisioned one at a time`
      : `API: down while the only control plane is re-provisioned`);
  }
  const workers = steps.filter((s) => tierOf(hosts[s.host]!.roles) === 'worker' && s.action !== 'create');
  if (workers.length) availability.push(`workloads: ${workers.length} worker(s) drained one at a time; pods without another replica are down while theirs is evicted`);
  if (steps.length && availability.length === 0) availability.push('none: only new hosts are added');
  return { steps, availability, warnings };
}
