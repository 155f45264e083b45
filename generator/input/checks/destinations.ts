/** Values that land in a config file or a script as they are: time servers, package names, the mirror's URL. */
import * as ip from '../../model/ipv4.ts';
import { OS_FAMILY } from '../../model/types.ts';
import { imageSettings } from '../effective.ts';
import { quote, type PathSegment, type Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Package names as each family's installer takes them (apt-get install, dnf install): no options, no spaces. */
export const PACKAGE_NAME = {
  // Debian policy: lowercase, digits, + - .; apt also takes name:arch and name=version.
  debian: { pattern: /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[0-9A-Za-z.+~:-]+)?$/, example: 'htop, or htop=3.3.0-4 to pin a version' },
  // RPM names, optionally with -version[-release] as dnf takes them.
  redhat: { pattern: /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/, example: 'htop, or htop-3.3.0 to pin a version' },
} as const;

/** The mirror's base URL lands in the install script, the manifest and Packer's variables: scheme, host, port and a plain path only. */
const MIRROR_URL = /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?(?:\/[A-Za-z0-9._~%/-]*)?$/;

export function checkDestinations(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);

  // chrony.conf: one `server <name> iburst` line each; anything else would be a directive of its own.
  spec.ntp?.servers?.forEach((server, i) => {
    if (!ip.isIPv4(server) && !DNS_NAME.test(server)) {
      report(['ntp', 'servers', i], `${quote(server)} is not a time server's name or IPv4 address; it is written into chrony's configuration as it is`,
        'write only the name or address, e.g. ntp.example.com or 192.168.31.1 (the tool adds chrony\'s options)');
    }
  });

  const os = imageSettings(spec).os.value;
  const family = OS_FAMILY[os];
  const rule = PACKAGE_NAME[family];
  const checkPackages = (list: string[] | undefined, base: PathSegment[]) => list?.forEach((name, i) => {
    if (!rule.pattern.test(name)) {
      report([...base, i], `${quote(name)} is not a ${family === 'debian' ? 'Debian' : 'RPM'} package name as ${family === 'debian' ? 'apt-get' : 'dnf'} takes it on ${os}`,
        `write the package's name, e.g. ${rule.example}`);
    }
  });
  checkPackages(spec.packages, ['packages']);
  spec.hosts.forEach((h, i) => checkPackages(h.packages, ['hosts', i, 'packages']));

  const mirror = spec.image?.mirror;
  if (mirror !== undefined && !MIRROR_URL.test(mirror)) {
    report(['image', 'mirror'], `${quote(mirror)} is not a plain base URL; it lands in the install script and Packer's variables`,
      'write scheme, host, optional port and path only, e.g. http://mirror.example:8080/k8s (no user:password@, query or fragment)');
  }
  return problems;
}
