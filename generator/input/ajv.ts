/**
 * ajv, set up once for cluster.schema.json: its options and formats, the
 * validator compiled at run time (from the sources), and the same validator
 * as standalone code (for the bundle, see bin/ha-k8s-seed.mjs).
 */
import { readFileSync } from 'node:fs';
import { Ajv, _, type Options, type ValidateFunction } from 'ajv';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import { assetPath } from '../assets.ts';
import { SPEC_FORMATS } from './formats.ts';

const standaloneCode = standaloneCodeModule as unknown as typeof standaloneCodeModule.default;

export const schemaPath = assetPath('cluster.schema.json');

function specAjv(code?: Options['code']): { ajv: Ajv; validate: ValidateFunction } {
  const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, ...(code ? { code } : {}) });
  for (const [name, format] of Object.entries(SPEC_FORMATS)) ajv.addFormat(name, format);
  return { ajv, validate: ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8'))) };
}

export function compileSpecValidator(): ValidateFunction {
  return specAjv().validate;
}

/**
 * The validator as an ES module of its own (default export); it requires ajv's small
 * runtime helpers and `formatsModule` (this project's formats.ts, by path).
 */
export function standaloneSpecValidator(formatsModule: string): string {
  const { ajv, validate } = specAjv({ source: true, esm: true, formats: _`require(${formatsModule}).SPEC_FORMATS` });
  return standaloneCode(ajv, validate);
}
