/**
 * The systemd unit of a daemon (templates/common/component.service.hbs): its
 * flags for the target release, each checked by renderFlags() against that
 * release's flag list.
 */
import type { Host } from '../model/types.ts';
import { renderFlags, type Flag, type FlagComponent } from './flags.ts';

export const UNIT_TEMPLATE = 'common/component.service.hbs';

export interface UnitView {
  host: string;
  description: string;
  documentation: string;
  type: 'simple' | 'notify';
  after: string[];
  wants: string[];
  exec: string;
  args: string[];
  serviceExtra: string[];
}

export function unit(
  host: Host, component: FlagComponent, version: string, exec: string, flags: readonly Flag[],
  more: Partial<Pick<UnitView, 'type' | 'after' | 'wants' | 'serviceExtra' | 'description' | 'documentation'>> = {},
): UnitView {
  return {
    host: host.name,
    description: more.description ?? `${component} ${version}`,
    documentation: more.documentation ?? 'https://kubernetes.io/docs/reference/command-line-tools-reference/',
    type: more.type ?? 'simple',
    after: more.after ?? ['network-online.target'],
    wants: more.wants ?? ['network-online.target'],
    exec,
    args: renderFlags(component, version, flags),
    serviceExtra: more.serviceExtra ?? [],
  };
}
