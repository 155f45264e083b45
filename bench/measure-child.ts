/**
 * Runs the CLI in this process and reports, on fd 3, the process's peak
 * memory: the benchmark's view of "the whole process" without GNU time.
 */
import { writeSync } from 'node:fs';
import { main } from '../generator/cli.ts';

const code = await main(process.argv.slice(2));
writeSync(3, JSON.stringify({ code, maxRssKiB: process.resourceUsage().maxRSS }));
process.exitCode = code;
