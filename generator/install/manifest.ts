/**
 * The install manifest: install-artifacts.sh's input, one record a line
 *
 *   artifact NAME VERSION FORMAT ALGORITHM CHECKSUM URL
 *   image REF ARCHIVE_URL        ("-": pull REF)
 *   package NAME
 *
 * (the script's header describes the records and reads them). The same
 * records, as objects, are Packer's `artifacts`, `images` and `packages`
 * variables, which variables.pkr.hcl's local.manifest turns into these lines
 * for the image build; the tests check that Packer's lines are manifestText's.
 */
import type { Artifact, ArtifactName } from '../model/types.ts';

export interface ArtifactRecord {
  name: ArtifactName;
  version: string;
  format: Artifact['format'];
  algorithm: Artifact['checksum']['algorithm'];
  checksum: string;
  url: string;
}

/** `archive_url` empty: the image is pulled by its reference; else the image archive to import. */
export interface ImageRecord { ref: string; archive_url: string }

/** What one machine installs, as the install script takes it. */
export interface InstallManifest {
  artifacts: ArtifactRecord[];
  images: ImageRecord[];
  /** Packages by the versions table's names; the script maps them to the distribution's. */
  packages: string[];
}

/** An artifact's record, with its fields in the order of its manifest line. */
export function artifactRecord(a: Artifact): ArtifactRecord {
  return { name: a.name, version: a.version, format: a.format, algorithm: a.checksum.algorithm, checksum: a.checksum.value, url: a.url };
}

const ARTIFACT_FIELDS = ['name', 'version', 'format', 'algorithm', 'checksum', 'url'] as const satisfies readonly (keyof ArtifactRecord)[];
const NO_ARCHIVE = '-';

export function manifestText(manifest: InstallManifest): string {
  const lines = [
    ...manifest.artifacts.map((a) => ['artifact', ...ARTIFACT_FIELDS.map((f) => a[f])]),
    ...manifest.images.map((i) => ['image', i.ref, i.archive_url || NO_ARCHIVE]),
    ...manifest.packages.map((p) => ['package', p]),
  ];
  // One word a field: the script splits a line on white space and cuts it at "#".
  for (const fields of lines) {
    if (fields.some((f) => f === '' || /[\s#'"\\]/.test(f))) throw new Error(`install manifest: unsafe characters in "${fields.join(' ')}"`);
  }
  return `${lines.map((fields) => fields.join(' ')).join('\n')}\n`;
}

/** manifestText's inverse, with the script's rules ("#" starts a comment, blank lines skipped): to read a manifest made elsewhere. */
export function parseManifest(text: string): InstallManifest {
  const manifest: InstallManifest = { artifacts: [], images: [], packages: [] };
  text.split('\n').forEach((line, index) => {
    const [kind, ...fields] = line.replace(/#.*/, '').split(/\s+/).filter((f) => f !== '');
    if (kind === undefined) return;
    const count = { artifact: ARTIFACT_FIELDS.length, image: 2, package: 1 }[kind];
    if (count === undefined) throw new Error(`install manifest line ${index + 1}: unknown record ${kind}`);
    if (fields.length !== count) throw new Error(`install manifest line ${index + 1}: a ${kind} has ${count} fields, not ${fields.length}`);
    if (kind === 'artifact') manifest.artifacts.push(Object.fromEntries(ARTIFACT_FIELDS.map((f, i) => [f, fields[i]])) as unknown as ArtifactRecord);
    else if (kind === 'image') manifest.images.push({ ref: fields[0]!, archive_url: fields[1] === NO_ARCHIVE ? '' : fields[1]! });
    else manifest.packages.push(fields[0]!);
  });
  return manifest;
}
