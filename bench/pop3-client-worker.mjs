// One measured run of the POP3 client, in its own process so that its peak RSS is its own.
// Usage: node bench/pop3-client-worker.mjs MODE HOST PORT USER PASSWORD
//   MODE: pipelined | serial | raw | to-devnull
//   (every mode but raw retrieves as a fetch does: retrTo into a BodySink, bounded by the
//   LIST size, each RETR confirmed by the UIDL n behind it)
// Prints one JSON line: { messages, bytes, ms (whole session), retrMs (from the first RETR), maxRssKb }.
import { open } from 'node:fs/promises';
import net from 'node:net';
import { Pop3Session, messageBounds } from '../dist/pop3/session.js';

const [mode, host, portText, user, password] = process.argv.slice(2);
const port = Number(portText);

/** What prepare-message hands retrTo for a listed message. */
const asFetched = (m) => ({ bounds: messageBounds(m.size), uidl: m.uidl });

async function client(pipelined) {
  const started = performance.now();
  const session = await Pop3Session.connect({ host, port, tls: 'none', timeoutMs: 60_000 });
  await session.login({ method: 'user', user, secret: password, cleartextAllowed: true });
  const messages = await session.listMessages();
  // Only now: the session turns pipelining on or off by the CAPA it reads after login,
  // which settles while the listing is under way, so switching it off any earlier is undone.
  if (!pipelined) session.client.setPipelining(false);
  const retrStarted = performance.now();
  let bytes = 0;
  const sink = { write: (chunk) => void (bytes += chunk.length) };
  await Promise.all(messages.map((m) => session.retrTo(m.msgNo, sink, asFetched(m))));
  const retrMs = performance.now() - retrStarted;
  await session.quit();
  return { messages: messages.length, bytes, ms: performance.now() - started, retrMs };
}

/** One large message written to /dev/null as a Maildir file is written: each chunk awaited before the next. */
async function toDevNull() {
  const started = performance.now();
  const session = await Pop3Session.connect({ host, port, tls: 'none', timeoutMs: 60_000 });
  await session.login({ method: 'user', user, secret: password, cleartextAllowed: true });
  const [message] = await session.listMessages();
  const devNull = await open('/dev/null', 'w');
  const retrStarted = performance.now();
  let bytes = 0;
  const sink = {
    async write(chunk) {
      for (let at = 0; at < chunk.length; ) at += (await devNull.write(chunk, at, chunk.length - at)).bytesWritten;
      bytes += chunk.length;
    },
  };
  await session.retrTo(message.msgNo, sink, asFetched(message));
  const retrMs = performance.now() - retrStarted;
  await devNull.close();
  await session.quit();
  return { messages: 1, bytes, ms: performance.now() - started, retrMs };
}

/** The ceiling: every RETR sent at once, replies only counted, nothing parsed but the terminators. */
async function raw() {
  const started = performance.now();
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  const lines = async (n) => {
    while (true) {
      let count = 0;
      let at = -1;
      while (count < n && (at = pending.indexOf('\r\n', at + 1)) !== -1) count++;
      if (count >= n) {
        const text = pending.subarray(0, at + 2).toString('latin1');
        pending = pending.subarray(at + 2);
        return text;
      }
      const chunk = await new Promise((resolve) => socket.once('data', resolve));
      pending = Buffer.concat([pending, chunk]);
    }
  };
  await lines(1);
  socket.write(`USER ${user}\r\nPASS ${password}\r\nSTAT\r\n`);
  const stat = await lines(3);
  const total = Number(/\+OK (\d+) \d+\r\n$/.exec(stat)[1]);
  let commands = '';
  for (let i = 1; i <= total; i++) commands += `RETR ${i}\r\n`;
  let bytes = pending.length;
  let seen = 0;
  let carry = pending;
  const done = new Promise((resolve) => {
    const onData = (chunk) => {
      bytes += chunk.length;
      const window = Buffer.concat([carry.subarray(-4), chunk]);
      for (let at = window.indexOf('\r\n.\r\n'); at !== -1; at = window.indexOf('\r\n.\r\n', at + 1)) seen++;
      carry = chunk;
      if (seen >= total) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  const retrStarted = performance.now();
  socket.write(commands);
  await done;
  const retrMs = performance.now() - retrStarted;
  socket.end('QUIT\r\n');
  return { messages: total, bytes, ms: performance.now() - started, retrMs };
}

const run = {
  pipelined: () => client(true),
  serial: () => client(false),
  raw,
  'to-devnull': toDevNull,
}[mode];
if (!run) {
  console.error(`unknown mode ${mode}`);
  process.exit(64);
}
const result = await run();
console.log(JSON.stringify({ ...result, maxRssKb: process.resourceUsage().maxRSS }));
