/**
 * What bin/ha-k8s-seed.mjs compiles into its bundle at build time, so that a
 * run neither compiles the schema with ajv nor parses a template: the spec
 * validator as ajv's standalone code, and every template precompiled by
 * Handlebars with the options templates.ts compiles with. Not used at run time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Handlebars from 'handlebars';
import { PROJECT_ROOT } from './assets.ts';
import { COMPILE_OPTIONS } from './render/templates.ts';

export { standaloneSpecValidator } from './input/ajv.ts';

/** The folders renderTemplate() reads, and which of their files are templates. */
const TEMPLATE_FOLDERS: [string, RegExp][] = [['templates', /\.hbs$/], ['cloud-init', /\.hbs$/], ['packer', /\.hbs$/]];

/** The source of an ES module whose default export maps each template's path under the project root to its precompiled form. */
export function precompiledTemplatesModule(): string {
  const entries: string[] = [];
  for (const [folder, isTemplate] of TEMPLATE_FOLDERS) {
    for (const e of readdirSync(join(PROJECT_ROOT, folder), { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || !isTemplate.test(e.name)) continue;
      const path = join(e.parentPath, e.name);
      const spec = Handlebars.precompile(readFileSync(path, 'utf8'), COMPILE_OPTIONS);
      entries.push(`${JSON.stringify(relative(PROJECT_ROOT, path))}: ${spec}`);
    }
  }
  return `export default {\n${entries.sort().join(',\n')}\n};\n`;
}
