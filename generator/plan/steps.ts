/**
 * The order of a change and the commands between its steps. The order keeps
 * etcd's quorum and the API reachable: etcd members one at a time, control
 * planes one at a time (new ones first, so capacity grows before any goes
 * down), load balancers backup before master, workers last and drained one at
 * a time; removals after everything else, workers first and etcd members last.
 * A change that brings a new VIP (every load balancer is created in it) makes
 * the load balancers first: nobody uses them yet, and the control planes then
 * come up behind a VIP that answers (the boot lab's scale-out shows it).
 */
import { join } from 'node:path';
import { CONFIG, PORTS } from '../model/paths.ts';
import { isNode, PROVISION_TIERS, provisionTier, type Cluster } from '../model/types.ts';
import { ON_HOST } from '../pki/on-host.ts';
import { NGINX_UPSTREAM } from '../roles/load-balancer.ts';
import { SEED } from '../roles/paths.ts';
import type { HostAction, HostPlan } from './plan.ts';
import { applyBootstrapToken, SERVER_SIDE_APPLY } from '../roles/addons.ts';
import { BOOTSTRAP_TOKEN_OUTPUT } from '../render/bootstrap-token.ts';

export interface PlanStep {
  host: string;
  action: Exclude<HostAction, 'keep'>;
  title: string;
  /** What the operator runs, in order, for this step. */
  commands: string[];
  /** What the step costs while it runs, when it costs anything. */
  cost?: string;
}

/** kubectl as the operator runs it: with the cluster's admin.kubeconfig, through the VIP (or the only control plane). */
export function operatorKubectl(clusterDir: string): string {
  return `kubectl --kubeconfig ${join(clusterDir, 'admin.kubeconfig')}`;
}

/** The operator's apply of out/<cluster>/bootstrap-token.yaml, before nodes of a change boot. */
export function operatorAppliesToken(cluster: Cluster, clusterDir: string): string {
  return applyBootstrapToken(`${operatorKubectl(clusterDir)} ${SERVER_SIDE_APPLY}`, join(clusterDir, BOOTSTRAP_TOKEN_OUTPUT), cluster.pki.bootstrapTokenHours);
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
  /** Applies out/<cluster>/bootstrap-token.yaml (the token new node seeds carry); run once, before the first node that no control plane's boot covers. */
  applyToken: string;
  tokenApplied: boolean;
}

/**
 * etcd's size as the steps go: the members of the running cluster (the
 * recorded ones: those the spec keeps and those leaving), grown by each
 * joiner's `member add` and shrunk by each `member remove`.
 */
class EtcdMembers {
  size: number;
  constructor(hosts: Record<string, HostPlan>, joining: ReadonlySet<string>, leaving: ReadonlySet<string>) {
    this.size = Object.entries(hosts).filter(([name, h]) => (h.roles.includes('etcd') && !joining.has(name)) || leaving.has(name)).length;
  }
}

/** "N of M members run <when>", and what one more failure would do to writes then. */
function etcdRunning(running: number, size: number, when: string): string {
  const spare = running - (Math.floor(size / 2) + 1);
  return `etcd: ${running} of ${size} members run ${when} (${spare === 0 ? 'one more failure would stop writes' : spare > 0 ? `${spare} more failure(s) tolerated` : 'writes stop'})`;
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
 * `endpointPending`: the VIP of this change, which admin.kubeconfig now names,
 * is not for clients yet (a control plane behind it still serves a
 * certificate without it): kubectl talks to the host's own apiserver instead.
 * A node's kubelet dials the VIP and retries until it reaches an apiserver
 * whose certificate names it. `etcd` is the cluster's size at this step, which
 * the step updates.
 */
function stepFor(ctx: Context, name: string, host: HostPlan, etcd: EtcdMembers, endpointPending: boolean): PlanStep {
  const isCp = host.roles.includes('control-plane');
  const kubectl = endpointPending && isCp
    ? `${ctx.kubectl} --server=https://${host.address}:${ctx.cluster.kubernetes.apiserverPort}`
    : ctx.kubectl;
  const node = isNode(host);
  const isEtcd = host.roles.includes('etcd');
  const lb = host.roles.includes('load-balancer');
  const commands: string[] = [];
  const costs: string[] = [];
  const action = host.action as PlanStep['action'];

  // A member joining the running cluster is added before it starts (its seed says
  // --initial-cluster-state=existing); one that changes its address leaves first, as itself.
  const joins = isEtcd && ctx.joining.has(name);
  const leaves = ctx.leaving.has(name);
  const ctl = isEtcd || leaves ? etcdctl(ctx, name) : undefined;
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
    // A control plane applies the token its own seed carries as it boots; any other node needs it applied first.
    if (node && !host.roles.includes('control-plane') && !ctx.tokenApplied) {
      commands.push(`${ctx.applyToken}    # the join token in this change's node seeds; it lives ${ctx.cluster.pki.bootstrapTokenHours} h from now`);
      ctx.tokenApplied = true;
    }
    const boot: Boot = action === 'create' ? 'new-vm' : isEtcd && !joins ? 'keep-etcd-data' : 'fresh-disk';
    commands.push(...bootCommands(name, boot));
    // The bootstrap starts the apiserver without waiting for it: bootstrap.done does not say it serves.
    if (isCp) commands.push(`${ctx.kubectl} --server=https://${host.address}:${ctx.cluster.kubernetes.apiserverPort} get --raw /readyz    # until it prints ok`);
    if (isEtcd && ctl) commands.push(`${ctl()} endpoint health --cluster`);
    if (node) commands.push(`${kubectl} get node ${name}    # Ready`);
    if (node && action === 'reprovision') commands.push(`${kubectl} uncordon ${name}`);
    // nginx still rests this apiserver for failTimeout after the connections it refused while down;
    // the next control plane going down before that would leave the load balancers no apiserver.
    if (isCp && action === 'reprovision' && ctx.cluster.loadBalancer && !ctx.endpointIsNew) {
      commands.push(`sleep ${NGINX_UPSTREAM.failTimeout}    # nginx counts an apiserver that refused ${NGINX_UPSTREAM.maxFails} connections as down for ${NGINX_UPSTREAM.failTimeout}: wait that out before the next control plane`);
    }
  }

  // etcd at this step: a member that leaves is removed first (the others keep
  // running); one that joins is a member from `member add` on and runs only
  // once its VM is up; one re-provisioned as itself is down while it is.
  const before = etcd.size;
  if (leaves) {
    etcd.size -= 1;
    costs.push(joins
      ? `${etcdRunning(etcd.size, etcd.size + 1, `from its member add at the new address until it is up`)}; it left as itself first`
      : `etcd shrinks from ${before} to ${etcd.size} members and no other member stops: ${etcdRunning(etcd.size, etcd.size, 'after it')}`);
  }
  if (joins) {
    etcd.size += 1;
    if (!leaves) costs.push(etcdRunning(etcd.size - 1, etcd.size, 'from its member add until it is up'));
  } else if (isEtcd && action === 'reprovision') costs.push(etcdRunning(etcd.size - 1, etcd.size, 'meanwhile'));

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
  const kubectl = operatorKubectl(clusterDir);
  const ctx: Context = {
    cluster, hosts, endpointIsNew, kubectl,
    joining: new Set(membership.joining), leaving: new Set(membership.leaving),
    applyToken: operatorAppliesToken(cluster, clusterDir), tokenApplied: false,
  };
  const etcd = new EtcdMembers(hosts, ctx.joining, ctx.leaving);
  const steps: PlanStep[] = [];
  // A new VIP: its load balancers first. Its clients wait until every control
  // plane's apiserver certificate names it (nginx may send a request to any of
  // them), so until the last control plane's step kubectl talks to the host's own apiserver.
  const tiers = endpointIsNew ? ['load-balancer', ...PROVISION_TIERS.filter((t) => t !== 'load-balancer')] as const : PROVISION_TIERS;
  let endpointPending = endpointIsNew;
  for (const tier of tiers) {
    // etcd members join in the order their seeds expect (each one's initial cluster lists those before it).
    const joiners = membership.joining.map((name) => [name, hosts[name]!] as const).filter(([, h]) => provisionTier(h.roles) === tier);
    for (const [name, host] of joiners) steps.push(stepFor(ctx, name, host, etcd, endpointPending));
    for (const action of ['create', 'reprovision'] as const) {
      const group = entries.filter(([name, h]) => h.action === action && provisionTier(h.roles) === tier && !ctx.joining.has(name));
      if (tier === 'load-balancer') group.sort(([a], [b]) => lbOrder(cluster, a) - lbOrder(cluster, b));
      for (const [name, host] of group) steps.push(stepFor(ctx, name, host, etcd, endpointPending));
    }
    if (tier === 'control-plane' && endpointPending && steps.length) {
      steps.at(-1)!.commands.push(`${ctx.kubectl} get nodes    # through the VIP now; every node re-provisioned so far is Ready`);
      endpointPending = false;
    }
  }
  for (const tier of [...PROVISION_TIERS].reverse()) {
    for (const [name, host] of entries.filter(([, h]) => h.action === 'remove' && provisionTier(h.roles) === tier)) {
      steps.push(stepFor(ctx, name, host, etcd, false));
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
        ? `API: the new VIP ${cluster.loadBalancer.vip} serves clients once every control plane's certificate names it (after the last control plane's step); until then a control plane being re-provisioned is unreachable for the nodes still pointing at it, until it is back`
        : `API: stays up through the VIP ${cluster.loadBalancer.vip} while control planes are re-provisioned one at a time`
      : `API: down while the only control plane is re-provisioned`);
  }
  const workers = steps.filter((s) => provisionTier(hosts[s.host]!.roles) === 'worker' && s.action !== 'create');
  if (workers.length) availability.push(`workloads: ${workers.length} worker(s) drained one at a time; pods without another replica are down while theirs is evicted`);
  if (steps.length && availability.length === 0) availability.push('none: only new hosts are added');
  return { steps, availability, warnings };
}
