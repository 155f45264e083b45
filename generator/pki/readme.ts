/** README.md of the state folder: what it holds and how to look after it. No secret in it. */
import type { Cluster } from '../model/types.ts';

export function renderPkiReadme(cluster: Cluster): string {
  return `# PKI and secrets of ${cluster.name}

The cluster's identity: made by ha-k8s-seed on its first run, then verified and
reused by every later one. Regenerating keeps these files byte for byte, and
reissues only the certificates whose subject or SANs the spec changed (the run
says which, and which hosts to re-provision). This folder is not output: deleting
\`out/\` loses nothing, deleting this folder loses the cluster.

**Back this folder up** (it holds the CA keys, the service-account key and the
encryption-at-rest key) and keep it private: the folder is 0700, keys and secrets
are 0600. Copy it whole while no \`generate\` runs (\`tar -C <parent> -czf backup.tgz
<folder>\`); restore it whole. If a CA, \`sa.key\` or a secret goes missing, stops
matching or fails verification, generation stops and names the file instead of
replacing it: restore it from the backup, or replace it on purpose with \`--rotate\`
(see the project README, "PKI and secrets").

| Files | What |
| --- | --- |
| \`ca.*\`, \`etcd/ca.*\`, \`front-proxy-ca.*\` | the kubernetes, etcd and front-proxy CAs |
| \`etcd/server-<member>.*\`, \`etcd/peer-<member>.*\`, \`etcd/healthcheck-client.*\` | etcd serving, peer and health-check certificates |
| \`apiserver.*\`, \`apiserver-kubelet-client.*\`, \`apiserver-etcd-client.*\`, \`front-proxy-client.*\` | kube-apiserver |
| \`controller-manager.*\`, \`scheduler.*\`, \`admin.*\`, \`kube-proxy.*\` | client certificates embedded in kubeconfigs |
| \`sa.key\`, \`sa.pub\` | the key pair that signs service-account tokens |
| \`secrets/bootstrap-token\`, \`secrets/encryption-key\`, \`secrets/vrrp-password\` | kubelet bootstrap token, secretbox key, keepalived VRRP password |
`;
}
