/**
 * Handlebars, set up once: templates hold text, code holds decisions, so the
 * views handed to templates are already decided and the helpers only format.
 * Templates are compiled in strict mode: a name missing from the view is an
 * error at generation time, not an empty string on a host.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { assetPath, PROJECT_ROOT } from '../assets.ts';
import precompiled from './precompiled-templates.ts';

const templatesDir = `${assetPath('templates')}/`;
/** cloud-init/: the seed's own documents and each role's bootstrap steps. */
export const CLOUD_INIT_DIR = `${assetPath('cloud-init')}/`;
const handlebars = Handlebars.create();

handlebars.registerHelper('join', (list: unknown[], separator: unknown) =>
  list.join(typeof separator === 'string' ? separator : ', '));
handlebars.registerHelper('json', (value: unknown) => JSON.stringify(value));
handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
/** A value as one shell word: single-quoted, with any ' closed, escaped and reopened. */
export function shellQuote(value: string | number): string {
  const text = String(value);
  return /^[A-Za-z0-9_.:\/@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
handlebars.registerHelper('sh', (value: string | number) => shellQuote(value));
const HCL_ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/**
 * A value as an HCL string literal: quotes, backslashes and control characters
 * escaped the way HCL reads them (it has no \b or \f, unlike JSON), and
 * "${" and "%{" written "$${" and "%%{" so HCL takes them as text, not as a
 * template interpolation or directive.
 */
export function hclString(value: string): string {
  const escaped = value
    .replace(/[\\"\u0000-\u001f\u007f]/g, (c) => HCL_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/([$%])\{/g, (_, sigil: string) => `${sigil}${sigil}{`);
  return `"${escaped}"`;
}
handlebars.registerHelper('hcl', (value: string) => hclString(value));
handlebars.registerHelper('indent', (text: string, spaces: number) =>
  text.replace(/\n(?!$)/g, `\n${' '.repeat(spaces)}`));

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** How every template is compiled, here and ahead of time for the bundle. */
export const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

/** Renders templates/<name> with a view; `baseDir` (absolute, ending in /) reads another folder, such as packer/. */
export function renderTemplate(name: string, view: object, baseDir: string = templatesDir): string {
  const path = `${baseDir}${name}`;
  let template = compiled.get(path);
  if (!template) {
    const ahead = precompiled[path.slice(PROJECT_ROOT.length + 1)];
    template = ahead
      ? handlebars.template(ahead)
      : handlebars.compile(readFileSync(path, 'utf8'), COMPILE_OPTIONS);
    compiled.set(path, template);
  }
  return template(view);
}
