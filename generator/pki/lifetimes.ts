/**
 * How long certificates live, and when a run acts on their end. Spec checks
 * (input/checks/pki.ts) and the PKI (roots.ts, leaves.ts) share these numbers, so a spec
 * never asks for a lifetime the renewal rule would undo on every run.
 */

/** A leaf certificate with fewer days left than this is reissued. */
export const LEAF_RENEW_DAYS = 30;
/** A CA with fewer days left than this is warned about. */
export const CA_WARN_DAYS = 180;
