/**
 * A load balancer: nginx forwards TCP on the LB port to every kube-apiserver;
 * keepalived holds the VIP while that proxy answers.
 */
import { OS_FAMILY, type Cluster } from '../model/types.ts';
import { ON_HOST, asGrants } from '../pki/on-host.ts';
import { FILES } from './paths.ts';
import type { RoleRecipe } from './recipe.ts';

/** How each distribution loads nginx's stream module (a separate package on both). */
function nginxStreamModule(cluster: Cluster): string {
  return OS_FAMILY[cluster.image.os] === 'redhat'
    // nginx-mod-stream drops this snippet; Red Hat's nginx.conf includes the whole folder.
    ? 'include /usr/share/nginx/modules/mod-stream.conf;'
    // libnginx-mod-stream, the way /usr/share/nginx/modules-available/mod-stream.conf loads it (prefix /usr/share/nginx).
    : 'load_module modules/ngx_stream_module.so;';
}

/**
 * nginx's passive health check of each apiserver: one that refuses `maxFails`
 * connections rests for `failTimeout` (each nginx worker counts on its own),
 * and a connect costs at most `connectTimeout` before the next is tried.
 * plan's steps wait `failTimeout` out between control planes.
 */
export const NGINX_UPSTREAM = { maxFails: 2, failTimeout: '10s', connectTimeout: '2s' } as const;

export const loadBalancer: RoleRecipe = {
  name: 'the load-balancer recipe',
  roles: ['load-balancer'],
  credentials: asGrants(ON_HOST.vrrpPassword),
  kernel: {
    // nginx may bind the VIP before keepalived has moved it here.
    sysctls: { 'net.ipv4.ip_nonlocal_bind': 1 },
  },
  steps: (cluster) => [
    { name: 'start-load-balancer', template: 'load-balancer/start-load-balancer.sh.hbs', view: {
      port: cluster.loadBalancer!.port,
      checkScript: FILES.keepalivedCheck,
      // Red Hat's family ships SELinux; Debian's and Ubuntu's images do not: known now, not probed at boot.
      selinux: OS_FAMILY[cluster.image.os] === 'redhat',
    } },
  ],
  files: ({ cluster, host, bundle }) => {
    const lb = cluster.loadBalancer!;
    const me = lb.members.find((m) => m.host === host.name)!;
    const nginx = {
      host: host.name,
      port: lb.port,
      backends: lb.backends,
      streamModule: nginxStreamModule(cluster),
      ...NGINX_UPSTREAM,
      downFile: FILES.nginxDownFile,
    };
    const keepalived = {
      host: host.name,
      // Needs no privilege: curl to 127.0.0.1.
      scriptUser: 'nobody',
      checkScript: FILES.keepalivedCheck,
      nginxDownFile: FILES.nginxDownFile,
      // Enough to drop a failing holder below every healthy peer (priorities are 10 apart).
      checkWeight: 10 * lb.members.length,
      state: me.initialState,
      interface: me.interface,
      virtualRouterId: lb.virtualRouterId,
      priority: me.priority,
      address: me.address,
      peers: lb.members.filter((m) => m.host !== host.name).map((m) => m.address),
      password: bundle.secrets.vrrpPassword,
      vip: lb.vip,
      vipPrefixLength: lb.vipPrefixLength,
    };
    return [
      { path: FILES.nginxConf, template: 'load-balancer/nginx.conf.hbs', view: nginx },
      { path: FILES.nginxVrrpDropIn, template: 'load-balancer/nginx-vrrp.conf.hbs', view: nginx },
      { path: FILES.keepalivedCheck, template: 'load-balancer/check-apiserver-proxy.sh.hbs', view: nginx, permissions: '0755' },
      { path: FILES.keepalivedConf, template: 'load-balancer/keepalived.conf.hbs', view: keepalived, permissions: '0600' },
    ];
  },
};
