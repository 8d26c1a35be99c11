// serve.mjs DIR PORT API_BASE_URL: serves the built page from DIR on
// 127.0.0.1:PORT the way the web container's nginx does, with config.js
// pointing the page at API_BASE_URL, another origin.  Used by the
// end-to-end tests to run the page as docker-compose runs it.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

const [dir, port, api] = process.argv.slice(2);
if (!dir || !port || !api) {
  console.error('usage: serve.mjs DIR PORT API_BASE_URL');
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
const config = `window.USER_ACTIVITY_CONFIG = ${JSON.stringify({ apiBaseUrl: api })};\n`;

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path === '/config.js') {
    res.writeHead(200, { 'Content-Type': types['.js'], 'Cache-Control': 'no-cache' });
    res.end(config);
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
server.listen(Number(port), '127.0.0.1', () => console.log(`serving ${root} on 127.0.0.1:${port}, API ${api}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
