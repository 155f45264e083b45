/**
 * Preloaded into a `generate` process by tests (node --import
 * ./test/lib/kill-at.mjs bin/ha-k8s-seed.mjs generate ...): stops the process
 * with SIGKILL just before its Nth call that changes the disk
 * (HA_K8S_SEED_KILL_AT=N), as `kill -9` or a crash would, with no cleanup of
 * any kind. With HA_K8S_SEED_COUNT_CALLS set to a file, it writes there how
 * many such calls the run made. Plain JavaScript: it must load before the
 * bundled CLI, without tsx.
 */
import { writeFileSync } from 'node:fs';

const killAt = Number(process.env.HA_K8S_SEED_KILL_AT ?? 0);
const countFile = process.env.HA_K8S_SEED_COUNT_CALLS;
let calls = 0;
// The slot generator/output/fs.ts reads its hook from.
globalThis[Symbol.for('ha-k8s-seed.fileSystemCalls')] = {
  beforeChange: () => {
    calls += 1;
    if (calls === killAt) process.kill(process.pid, 'SIGKILL');
  },
};
if (countFile) process.on('exit', () => writeFileSync(countFile, `${calls}\n`));
