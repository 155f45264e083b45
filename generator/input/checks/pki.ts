/** pki: lifetimes that renew once in a while, and one spelling of the key algorithm. */
import { LEAF_RENEW_DAYS } from '../../pki/lifetimes.ts';
import { pkiSettings } from '../effective.ts';
import type { Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import { DEFAULTS, type ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

export function checkPki(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  // A leaf that starts inside the renewal window would be reissued on every run; one that outlives
  // its CA would be cut to the CA's end, and reissued on every run once that end is near.
  const { caValidityDays, certValidityDays } = pkiSettings(spec);
  const caDays = caValidityDays.value;
  const certDays = certValidityDays.value;
  const certPath = certValidityDays.writtenAt ?? ['pki', 'caValidityDays'];
  if (certDays <= LEAF_RENEW_DAYS) {
    report(certPath, `certificates valid for ${certDays} days would be renewed on every run: a certificate is reissued when fewer than ${LEAF_RENEW_DAYS} days are left`,
      `set pki.certValidityDays to more than ${LEAF_RENEW_DAYS} (the default is ${DEFAULTS.certValidityDays})`);
  } else if (certDays > caDays) {
    report(certPath, `certificates valid for ${certDays} days would outlive their CAs (pki.caValidityDays: ${caDays})`,
      `set pki.certValidityDays to at most ${caDays}, or pki.caValidityDays to at least ${certDays}`);
  }

  if (spec.pki?.keySize !== undefined && spec.pki.keyAlgorithm !== undefined) {
    report(['pki', 'keySize'], 'pki.keySize is the older spelling of pki.keyAlgorithm: give one of them, not both',
      `remove keySize and keep keyAlgorithm: ${spec.pki.keyAlgorithm}`);
  }
  return problems;
}
