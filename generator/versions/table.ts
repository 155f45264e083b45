/**
 * artifacts.yaml, read once and checked: the pinned Kubernetes minors, one
 * record per release artifact (URL, checksum pins, the roles that install it,
 * where its files go), the distribution packages and the CNI images. The file
 * is the project's data, not the user's, so a malformed record is a bug in the
 * project: the load stops with every problem named.
 */
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { assetPath } from '../assets.ts';
import { BIN } from '../model/paths.ts';
import { ARCHITECTURES, ROLES, type Architecture, type Role } from '../model/types.ts';

const FILE = 'generator/versions/artifacts.yaml';

export type ChecksumAlgorithm = 'sha256' | 'sha512';
const HEX_LENGTH: Record<ChecksumAlgorithm, number> = { sha256: 64, sha512: 128 };

export type BinName = keyof typeof BIN;

/** `member` (a glob) goes to the path of BIN named `bin`: one file, or with `folder` a folder that takes every executable it matches. */
export interface InstallEntry { member: string; bin: BinName; folder: boolean; mode: number }

export interface PinnedArtifact {
  name: string;
  /** With {version} and {arch} to fill in. */
  url: string;
  algorithm: ChecksumAlgorithm;
  /** The roles whose machines install it; none: pinned only. */
  roles: readonly Role[];
  install: readonly InstallEntry[];
  /** Version -> checksum per architecture, in the file's order. */
  releases: ReadonlyMap<string, Readonly<Record<Architecture, string>>>;
}

export interface PinnedMinor {
  minor: string;
  images: { pause: string; coredns: string };
  etcd: string;
}

export interface DistributionPackage { name: string; apt: string; dnf: string; roles: readonly Role[] }

export interface VersionsTable {
  minors: readonly PinnedMinor[];
  artifacts: readonly PinnedArtifact[];
  packages: readonly DistributionPackage[];
  cniImages: Readonly<Record<string, { daemon: string; plugin: string }>>;
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const URL_FIELDS = new Set(['version', 'arch']);

/** The shape of artifacts.yaml as the code reads it; every problem goes to `problems`. */
export function readTable(data: unknown, problems: string[]): VersionsTable {
  const at = (path: string, message: string) => problems.push(`${path}: ${message}`);
  const object = (v: unknown, path: string): Raw => {
    if (isObject(v)) return v;
    at(path, 'must be a mapping');
    return {};
  };
  const text = (v: unknown, path: string): string => {
    if (typeof v === 'string' && v !== '') return v;
    at(path, 'must be a non-empty string');
    return '';
  };
  /** A word of the install script's tables and manifest: no white space, quote or "#". */
  const word = (v: unknown, path: string): string => {
    const value = text(v, path);
    if (/[\s'"#\\]/.test(value)) at(path, `${JSON.stringify(value)} must be one word, without quotes or "#"`);
    return value;
  };
  const isRole = (r: unknown): r is Role => (ROLES as readonly unknown[]).includes(r);
  const roles = (v: unknown, path: string): Role[] => {
    if (!Array.isArray(v)) { at(path, 'must be a list of roles'); return []; }
    v.forEach((r, i) => { if (!isRole(r)) at(`${path}[${i}]`, `${JSON.stringify(r)} is not one of ${ROLES.join(', ')}`); });
    return v.filter(isRole);
  };

  const root = object(data, '(file)');
  if (root.schema_version !== 2) at('schema_version', 'must be 2 (the shape this code reads)');

  const minors = Object.entries(object(root.kubernetes, 'kubernetes')).map(([minor, v]): PinnedMinor => {
    const path = `kubernetes.${minor}`;
    if (!/^1\.\d+$/.test(minor)) at(path, 'a minor is written 1.MINOR');
    const entry = object(v, path);
    const images = object(entry.images, `${path}.images`);
    return {
      minor,
      images: { pause: text(images.pause, `${path}.images.pause`), coredns: text(images.coredns, `${path}.images.coredns`) },
      etcd: text(entry.etcd, `${path}.etcd`),
    };
  });

  const artifacts = Object.entries(object(root.artifacts, 'artifacts')).map(([name, v]): PinnedArtifact => {
    const path = `artifacts.${name}`;
    const record = object(v, path);
    const url = text(record.url, `${path}.url`);
    for (const [, field] of url.matchAll(/\{(\w*)\}/g)) if (!URL_FIELDS.has(field!)) at(`${path}.url`, `{${field}} is not {version} or {arch}`);
    const algorithm = record.checksum as ChecksumAlgorithm;
    const known = typeof algorithm === 'string' && Object.hasOwn(HEX_LENGTH, algorithm);
    if (!known) at(`${path}.checksum`, 'must be sha256 or sha512');
    const install = Array.isArray(record.install) ? record.install : (at(`${path}.install`, 'must be a list'), []);
    const entries = install.map((e: unknown, i: number): InstallEntry => {
      const p = `${path}.install[${i}]`;
      const entry = object(e, p);
      const folder = 'into' in entry;
      const bin = (folder ? entry.into : entry.to) as BinName;
      if (folder === 'to' in entry) at(p, 'needs exactly one of to (a file) or into (a folder)');
      else if (typeof bin !== 'string' || !Object.hasOwn(BIN, bin)) at(`${p}.${folder ? 'into' : 'to'}`, `${JSON.stringify(bin)} is not a path of BIN (generator/model/paths.ts)`);
      const octal = typeof entry.mode === 'string' && /^0[0-7]{3}$/.test(entry.mode);
      if (!octal) at(`${p}.mode`, 'must be an octal mode such as "0755"');
      return { member: word(entry.member, `${p}.member`), bin, folder, mode: octal ? Number.parseInt(entry.mode as string, 8) : 0 };
    });
    const artifactRoles = roles(record.roles, `${path}.roles`);
    if ((artifactRoles.length > 0) !== (entries.length > 0)) {
      at(`${path}.install`, artifactRoles.length > 0 ? 'an artifact some role installs must say where its files go' : 'an artifact no role installs has nowhere to go');
    }
    const releases = new Map(Object.entries(object(record.releases, `${path}.releases`)).map(([version, pins]) => {
      const p = `${path}.releases.${version}`;
      const perArch = object(pins, p);
      const checksums = Object.fromEntries(ARCHITECTURES.map((arch) => {
        const value = perArch[arch];
        if (known && !(typeof value === 'string' && new RegExp(`^[0-9a-f]{${HEX_LENGTH[algorithm]}}$`).test(value))) at(`${p}.${arch}`, `must be a ${algorithm} in lowercase hex`);
        return [arch, String(value)];
      })) as Record<Architecture, string>;
      return [version, checksums];
    }));
    if (releases.size === 0) at(`${path}.releases`, 'pins no release');
    return { name, url, algorithm, roles: artifactRoles, install: entries, releases };
  });

  const packages = Object.entries(object(root.packages, 'packages')).map(([name, v]): DistributionPackage => {
    const path = `packages.${name}`;
    const p = object(v, path);
    return { name: word(name, path), apt: word(p.apt, `${path}.apt`), dnf: word(p.dnf, `${path}.dnf`), roles: roles(p.roles, `${path}.roles`) };
  });

  const cniImages = Object.fromEntries(Object.entries(object(root.cni_images, 'cni_images')).map(([plugin, v]) => {
    const images = object(v, `cni_images.${plugin}`);
    return [plugin, { daemon: text(images.daemon, `cni_images.${plugin}.daemon`), plugin: text(images.plugin, `cni_images.${plugin}.plugin`) }];
  }));

  return { minors, artifacts, packages, cniImages };
}

function loadTable(): VersionsTable {
  const problems: string[] = [];
  const table = readTable(load(readFileSync(assetPath(FILE), 'utf8')), problems);
  if (problems.length > 0) throw new Error(`versions table ${FILE}:\n  ${problems.join('\n  ')}`);
  return table;
}

export const TABLE: VersionsTable = loadTable();
