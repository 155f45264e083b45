/**
 * `npm test`'s runner: uvu over every test/*.test.ts, then one plain closing
 * line. uvu exits 0 when a suite's `before` hook throws (its tests are then
 * neither passed nor failed), so success here means every test passed.
 */
import { spawn } from 'node:child_process';

// An optional argument narrows the run to matching files: npm test -- pki
const pattern = process.argv[2] ?? '\\.test\\.ts$';
const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', pattern], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  output += chunk.toString();
});
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
const count = (label: string) => Number(/^\s*(\d+)$/m.exec(plain.split(`${label}:`)[1] ?? '')?.[1] ?? 0);
// uvu's Total counts the tests that ran; Skipped ones are counted apart.
const total = count('Total');
const passed = count('Passed');
const skipped = count('Skipped');
console.log(`tests: ${passed} passed, ${total - passed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = code !== 0 || total === 0 || passed < total ? 1 : 0;
