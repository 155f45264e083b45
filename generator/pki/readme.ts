/** README.md of the state folder (templates/state/README.md.hbs): what it holds and how to look after it. No secret in it. */
import type { Cluster } from '../model/types.ts';
import { renderTemplate } from '../render/templates.ts';

export function renderPkiReadme(cluster: Cluster): string {
  return renderTemplate('state/README.md.hbs', { cluster: cluster.name });
}
