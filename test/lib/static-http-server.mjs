// A static HTTP server on 127.0.0.1 for tests: node static-http-server.mjs ROOT PORT READY_FILE
// Serves ROOT's files (404 for anything else) and touches READY_FILE once listening.
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const [root, port, ready] = process.argv.slice(2);
createServer((req, res) => {
  const path = join(root, normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)));
  let size;
  try { const s = statSync(path); if (s.isFile()) size = s.size; } catch { /* absent */ }
  if (size === undefined || !path.startsWith(root)) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-length': size });
  createReadStream(path).pipe(res);
}).listen(Number(port), '127.0.0.1', () => writeFileSync(ready, ''));
