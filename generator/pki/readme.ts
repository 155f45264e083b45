/** pki/README.md: what the folder holds and how to look after it. No secret in it. */
import type { Cluster } from '../model/types.ts';

export function renderPkiReadme(cluster: Cluster): string {
  return `# PKI and secrets of ${cluster.name}

Made by ha-k8s-seed on its first run and reused by every later one: regenerating
keeps these files byte for byte, and reissues only the certificates whose subject
or SANs the spec changed (the run says which, and which hosts to re-provision).

**Back this folder up** (it holds the CA keys, the service-account key and the
encryption-at-rest key) and keep it private: keys and secrets are 0600. If a CA,
\`sa.key\` or a secret goes missing or stops matching, generation stops and names the
file instead of replacing it: restore it from the backup, or replace it on purpose
with \`--rotate\` (see the project README, "PKI and secrets").

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
