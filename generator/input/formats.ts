/** The string formats cluster.schema.json uses: ajv-formats' own, and IPv4 CIDRs checked by the model's parser. */
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { parseCIDR } from '../model/ipv4.ts';

export const SPEC_FORMATS = {
  ipv4: fullFormats.ipv4,
  hostname: fullFormats.hostname,
  uri: fullFormats.uri,
  'ipv4-cidr': (text: string) => parseCIDR(text) !== undefined,
};
