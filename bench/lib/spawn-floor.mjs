// What one delivery command costs a Node process, with nothing else going on: 1000
// times, one after another, spawn `/bin/sh -c "cat > /dev/null"`, write it 10 KB, and
// wait for it to exit. bench/peers.ts times this beside the same loop run by a shell.
import { spawn } from 'node:child_process';

const body = Buffer.alloc(10 * 1024, 0x61);
const count = Number(process.argv[2] ?? 1000);
for (let i = 0; i < count; i++) {
  await new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'cat > /dev/null'], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
    child.stdin.end(body);
  });
}
