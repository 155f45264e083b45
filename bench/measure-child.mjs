/**
 * Runs the CLI exactly as `npm run generate` does (bin/ha-k8s-seed.mjs and its
 * bundle) and reports, on fd 3, the process's peak memory: the benchmark's
 * view of "the whole process" without GNU time.
 */
import { writeSync } from 'node:fs';
import { loadCli } from '../bin/ha-k8s-seed.mjs';

const main = await loadCli();
const code = await main(process.argv.slice(2));
writeSync(3, JSON.stringify({ code, maxRssKiB: process.resourceUsage().maxRSS }));
process.exitCode = code;
