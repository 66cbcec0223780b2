// A Node client for SoakTest: built-in fetch (undici, a keep-alive pool) and raw sockets, no packages.
// Usage: node soak-client.mjs <base-url> <api-key> <loops> <requests-per-loop> <marker-prefix>
// Prints one JSON line: every request's kind, expected and actual status, and time, plus the markers
// of the good submissions it sent and of the ones it abandoned mid-body.
import net from 'node:net';

const [base, key, loopsArg, perLoopArg, prefix] = process.argv.slice(2);
const url = new URL(base);
const loops = Number(loopsArg);
const perLoop = Number(perLoopArg);
const auth = { authorization: `Bearer ${key}` };
const results = [];
const goods = [];
const abandoned = [];

async function viaFetch(kind, expected, init) {
  const started = Date.now();
  let status;
  try {
    const answer = await fetch(`${base}/v1/jobs`, { method: 'POST', ...init, signal: AbortSignal.timeout(15000) });
    const text = await answer.text();
    status = answer.status;
    if (status >= 400 && !answer.headers.get('content-type')?.startsWith('application/problem+json')) {
      status = `${status} without a problem body: ${text.slice(0, 80)}`;
    }
  } catch (e) {
    status = `error: ${e.name} ${e.message} ${e.cause?.code ?? ''}`;
  }
  results.push({ client: 'node-fetch', kind, expected, status, ms: Date.now() - started });
}

/** Writes `parts` with `pauseMs` between them, then reads `answers` whole answers (or the close). */
function viaSocket(kind, expected, parts, pauseMs, answers) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(Number(url.port), url.hostname);
    let received = '';
    let done = false;
    const finish = (statuses) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      statuses.forEach((status, i) => results.push({ client: 'node-socket', kind, expected: expected[i], status, ms: Date.now() - started }));
      resolve();
    };
    const timer = setTimeout(() => finish(expected.map(() => 'no answer within 15 s')), 15000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      if (statuses.length >= answers && received.endsWith('}')) finish(statuses);
    });
    socket.on('error', () => {});
    socket.on('close', () => finish([...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
      .concat(Array(answers).fill('closed without an answer')).slice(0, answers)));
    (async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        socket.write(part);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
  });
}

function rawPost(body, extra = '') {
  return `POST /v1/jobs HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${key}\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

async function loop(n) {
  for (let i = 0; i < perLoop; i++) {
    const marker = `${prefix}-${n}-${i}`;
    const good = JSON.stringify({ type: 'echo', request: { marker } });
    switch (i % 8) {
      case 0:
        await viaFetch('oversized', 413, { headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'echo', request: { s: 'x'.repeat(3 << 20) } }) });
        break;
      case 1:
        await viaFetch('malformed', 400, { headers: { ...auth, 'content-type': 'application/json' }, body: '{type: echo' });
        break;
      case 2:
        await viaFetch('wrong content type', 415, { headers: { ...auth, 'content-type': 'text/plain' }, body: good });
        break;
      case 3:
        await viaFetch('invalid fields', 422, { headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'echo', request: {}, concurrency_key: [1] }) });
        break;
      case 4: {
        // Gone mid-body: never stored.
        abandoned.push(marker);
        const request = rawPost(good);
        await new Promise((resolve) => {
          const socket = net.connect(Number(url.port), url.hostname, () => {
            socket.write(request.slice(0, request.length - 5));
            setTimeout(() => { socket.destroy(); resolve(); }, 20);
          });
          socket.on('error', resolve);
        });
        break;
      }
      case 5:
        goods.push(marker);
        await viaSocket('slow sender', [202], [...rawPost(good).match(/[\s\S]{1,40}/g)], 15, 1);
        break;
      case 6: {
        goods.push(marker);
        const second = `${marker}-b`;
        goods.push(second);
        await viaSocket('pipelined', [202, 400, 202], [rawPost(good) + rawPost('{x')
          + rawPost(JSON.stringify({ type: 'echo', request: { marker: second } }))], 0, 3);
        break;
      }
      default:
        goods.push(marker);
        await viaFetch('good', 202, { headers: { ...auth, 'content-type': 'application/json' }, body: good });
    }
  }
}

await Promise.all(Array.from({ length: loops }, (_, n) => loop(n)));
console.log(JSON.stringify({ results, goods, abandoned }));
