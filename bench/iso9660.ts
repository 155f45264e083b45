/**
 * Throughput of the cidata ISO writer for a typical seed: ~20 KB user-data,
 * a short meta-data and a ~1 KB network-config. Run: npx tsx bench/iso9660.ts
 */
import { buildCidataIso } from '../generator/output/iso9660.ts';

const userData = '#cloud-config\n' + Array.from({ length: 400 }, (_, i) => `# ${i} ${'x'.repeat(40)}\n`).join('');
const files = [
  { name: 'user-data', content: userData },
  { name: 'meta-data', content: 'instance-id: k8s-master1\nlocal-hostname: k8s-master1\n' },
  { name: 'network-config', content: 'version: 2\nethernets:\n  eth0:\n    addresses: [10.0.0.11/24]\n'.repeat(12) },
];

let bytes = 0;
for (let i = 0; i < 2000; i++) bytes += buildCidataIso(files).length; // warm-up
const rounds = 5;
const perRound = 5000;
const rates: number[] = [];
for (let r = 0; r < rounds; r++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < perRound; i++) bytes += buildCidataIso(files).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rates.push(perRound / seconds);
}
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;
const size = buildCidataIso(files).length;
console.log(
  `user-data ${Buffer.byteLength(userData)} B, image ${size} B: median ${Math.round(median)} ISOs/s ` +
    `(${(1e6 / median).toFixed(1)} µs each; 1,000 hosts in ${((1000 / median) * 1000).toFixed(1)} ms; ` +
    `${(bytes / 2 ** 20).toFixed(0)} MiB built in all)`,
);
