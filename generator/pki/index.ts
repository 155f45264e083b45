/** The cluster's PKI and secrets: what the rest of the generator imports. */
export * from './types.ts';
export { describePkiResult, ensurePki, PkiError, type EnsurePkiOptions, type EnsurePkiResult, type PkiChange, type PkiProblem } from './ensure.ts';
export { credentialsFor, grantsFor, hostsHolding, type Grant, type GrantPart } from './access.ts';
export { CATALOGUE, ON_HOST } from './on-host.ts';
export {
  CA_NAMES, CA_PROFILES, ROTATE_TARGETS, ROTATE_ALL_CAS, SECRET_FILES, SERVICE_ACCOUNT, isRotateTarget, leafProfiles,
  type CaName, type LeafProfile, type RotateTarget,
} from './profiles.ts';
export { generateKey, generateKeys, keyAlgorithmOf, type KeyPairPem } from './keys.ts';
