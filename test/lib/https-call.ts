/**
 * One HTTPS request on a connection of its own (no keep-alive: a load
 * balancer picks a backend for each), with the caller's CA and, if given, a
 * client certificate or a bearer token; resolves with the status and body,
 * rejects on a network error or after `timeoutMs`.
 */
import { request } from 'node:https';

export interface Tls { ca: Buffer; cert?: Buffer; key?: Buffer }

export interface Call { method?: string; path: string; body?: unknown; contentType?: string; token?: string }

export async function call(url: string, tls: Tls, c: Call, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  const u = new URL(c.path, url);
  const payload = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: c.method ?? 'GET', ...tls, agent: false, timeout: timeoutMs,
      headers: {
        ...(c.token ? { Authorization: `Bearer ${c.token}` } : {}),
        ...(payload ? { 'Content-Type': c.contentType ?? 'application/json', 'Content-Length': payload.length } : {}),
      },
    }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
