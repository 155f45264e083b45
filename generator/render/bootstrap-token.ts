/**
 * out/<cluster>/bootstrap-token.yaml: the newest bootstrap token as the Secret
 * the operator applies through the VIP before nodes of a later change boot
 * (plan's steps give the command, which sets its expiration as it applies).
 * The same file a control plane applies from its own seed.
 */
import type { Cluster } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import type { BootstrapToken } from '../pki/bootstrap-tokens.ts';
import { BOOTSTRAP_TOKEN_TEMPLATE, bootstrapTokenView } from '../roles/addons.ts';
import { renderTemplate } from './templates.ts';

export const BOOTSTRAP_TOKEN_OUTPUT = 'bootstrap-token.yaml';

export function bootstrapTokenFile(cluster: Cluster, token: BootstrapToken): OutputFile {
  return { path: BOOTSTRAP_TOKEN_OUTPUT, content: renderTemplate(BOOTSTRAP_TOKEN_TEMPLATE, bootstrapTokenView(token, cluster.pki.bootstrapTokenHours)), mode: 0o600 };
}
