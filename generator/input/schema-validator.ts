/**
 * The compiled validator of cluster.schema.json. From the sources (tests,
 * tsx) ajv compiles it when this module loads; the bundle bin/ha-k8s-seed.mjs
 * runs replaces this module with ajv's standalone code for the same schema
 * and options, generated when the bundle is built, so a run loads neither ajv
 * nor the schema compiler.
 */
import { compileSpecValidator } from './ajv.ts';

export default compileSpecValidator();
