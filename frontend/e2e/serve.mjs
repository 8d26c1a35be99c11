// serve.mjs DIR PORT CONFIG: serves the built page from DIR on
// 127.0.0.1:PORT the way the web container's nginx does.  CONFIG is the
// file served as /config.js, read at every request as nginx would (the
// tests write it with the container's own docker-entrypoint.d script), or
// an http(s) URL: then config.js points the page at that API and nothing
// more.  Used by the end-to-end tests to run the page as docker-compose
// runs it.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

const [dir, port, api] = process.argv.slice(2);
if (!dir || !port || !api) {
  console.error('usage: serve.mjs DIR PORT CONFIG_FILE|API_BASE_URL');
  process.exit(2);
}
const root = resolve(dir);
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};
const fixed = /^https?:/.test(api) ? `window.USER_ACTIVITY_CONFIG = ${JSON.stringify({ apiBaseUrl: api })};\n` : null;
const config = () => fixed ?? readFileSync(api, 'utf8');

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path === '/config.js') {
    res.writeHead(200, { 'Content-Type': types['.js'], 'Cache-Control': 'no-store' });
    res.end(config());
    return;
  }
  let file = normalize(join(root, path));
  if (!file.startsWith(root)) {
    res.writeHead(403).end();
    return;
  }
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    statSync(file);
  } catch {
    file = join(root, 'index.html');
  }
  res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
server.listen(Number(port), '127.0.0.1', () => console.log(`serving ${root} on 127.0.0.1:${port}, config ${api}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
