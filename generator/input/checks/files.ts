/** The operator's files: each path once, contents a seed can carry, and none on a path the tool writes. */
import type { Cluster, Host } from '../../model/types.ts';
import { filesOf, normalFilePath } from '../effective.ts';
import { formatPath, quote, type PathSegment, type Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

/** Largest files[].content: cloud-init carries it inline in user-data, and user-data must stay a seed, not a disk. */
export const FILE_CONTENT_LIMIT = 256 * 1024;
/** Largest sum of one host's files[] contents. */
export const HOST_FILES_LIMIT = 1024 * 1024;

const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

/** Paths written twice, and contents over the limits; the paths are compared as the host sees them. */
export function checkFileEntries(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const checkList = (files: ClusterSpec['files'], base: PathSegment[]) => {
    const first = new Map<string, number>();
    files?.forEach((f, i) => {
      const path = normalFilePath(f.path);
      const spelled = path === f.path ? '' : ` (${quote(f.path)} is ${path})`;
      const same = first.get(path);
      if (same !== undefined) report([...base, i, 'path'], `${path} is listed twice${spelled}, first at ${formatPath([...base, same])}`);
      else first.set(path, i);
      const bytes = Buffer.byteLength(f.content);
      if (bytes > FILE_CONTENT_LIMIT) {
        report([...base, i, 'content'], `the content of ${path} is ${kib(bytes)}, over the ${kib(FILE_CONTENT_LIMIT)} limit of a file carried in user-data`,
          'bake large files into the golden image (packer/), or fetch them from the mirror on first boot');
      }
    });
  };
  checkList(spec.files, ['files']);
  spec.hosts.forEach((h, i) => checkList(h.files, ['hosts', i, 'files']));

  spec.hosts.forEach((h, i) => {
    const total = filesOf(spec, i).reduce((sum, f) => sum + Buffer.byteLength(f.content), 0);
    if (total > HOST_FILES_LIMIT) {
      report(h.files?.length ? ['hosts', i, 'files'] : ['files'], `${h.name} gets ${kib(total)} of files, over the ${kib(HOST_FILES_LIMIT)} limit per host`,
        'bake large files into the golden image (packer/), or fetch them from the mirror on first boot');
    }
  });
  return problems;
}

/** What the tool writes on a resolved host: path and owner (render/cloud-config.ts, generatedPaths). */
export type GeneratedPaths = (host: Host) => { path: string; source: string }[];

/**
 * An operator's file on a path the tool writes, or on a folder of one (or
 * under one of them): cloud-init would overwrite the real file with the
 * operator's content (a CA key...), or fail to write either. Runs on the
 * resolved model, since which files a host gets depends on its roles.
 */
export function checkFileCollisions(source: SpecSource, spec: ClusterSpec, cluster: Cluster, generated: GeneratedPaths): Problem[] {
  const { problems, report } = problemList(source);
  // Asked only of hosts an operator's file lands on: most specs write none.
  const tool: ReturnType<GeneratedPaths>[] = [];
  const clash = (path: string, hostIndex: number) => {
    for (const g of (tool[hostIndex] ??= generated(cluster.hosts[hostIndex]!))) {
      if (g.path === path) return { g, how: 'is written by the tool itself' };
      if (g.path.startsWith(`${path}/`)) return { g, how: `is a folder of ${g.path}, which the tool writes` };
      if (path.startsWith(`${g.path}/`)) return { g, how: `would be inside ${g.path}, a file the tool writes` };
    }
    return undefined;
  };
  const describe = (path: string, spelled: string, found: { g: { path: string; source: string }; how: string }, hosts: string) =>
    `${path}${spelled} ${found.how} on ${hosts}: it belongs to ${found.g.source}`;
  const fix = 'choose a path the tool does not write, or change the generated file through the spec';
  spec.files?.forEach((f, j) => {
    const path = normalFilePath(f.path);
    const spelled = path === f.path ? '' : ` (written ${quote(f.path)})`;
    // Only where the host gets this file: its own file at the same path replaces it, and is checked below.
    const hits = cluster.hosts.flatMap((h, i) => {
      const found = filesOf(spec, i).includes(f) ? clash(path, i) : undefined;
      return found ? [{ h, found }] : [];
    });
    if (hits.length === 0) return;
    const names = hits.length <= 3 ? hits.map(({ h }) => h.name).join(', ') : `${hits.length} hosts (${hits.slice(0, 3).map(({ h }) => h.name).join(', ')}, ...)`;
    report(['files', j, 'path'], describe(path, spelled, hits[0]!.found, names), fix);
  });
  spec.hosts.forEach((h, i) => h.files?.forEach((f, k) => {
    const path = normalFilePath(f.path);
    const found = clash(path, i);
    if (!found) return;
    const spelled = path === f.path ? '' : ` (written ${quote(f.path)})`;
    report(['hosts', i, 'files', k, 'path'], describe(path, spelled, found, h.name), fix);
  }));
  return problems;
}
