/**
 * The project's own files that the generator reads at run time (templates,
 * role documents, Packer templates, the versions table, the schema), found
 * from the project root, so that the same code works from the TypeScript
 * sources and from the bundle bin/ha-k8s-seed.mjs runs.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'cluster.schema.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ha-k8s-seed project root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot();

/** Absolute path of a project file: assetPath('templates', 'units', 'x.hbs'). */
export function assetPath(...segments: string[]): string {
  return join(PROJECT_ROOT, ...segments);
}
