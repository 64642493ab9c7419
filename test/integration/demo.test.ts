import { expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

it('the demo runs two peer hosts against its own loopback server and each gets every request once', async () => {
  const run = await runCli(['demo']);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toContain('jobs: 4 delivered, 0 deleted, 4 left on server');
  // Step 5: the hosts delete the six as they fall due (in one run or several, as the machine's speed has it).
  const step5 = run.stdout.slice(run.stdout.indexOf('\n5. '), run.stdout.indexOf('\n6. '));
  const deleted = [...step5.matchAll(/jobs: 0 delivered, (\d+) deleted/g)].reduce((n, m) => n + Number(m[1]), 0);
  expect(deleted, step5).toBe(6);
  const received = run.stdout.match(/host [AB] \(\w+\): (.*)/g)!;
  expect(received).toHaveLength(2);
  for (const line of received) expect(line).toMatch(/job backup, job build, job cleanup, job notify, job report, job resize$/);
  expect(run.stdout).toContain('on the server: 0');
  // Hosts A and B polled within the retention; host C did not, and is told so (issue 14).
  expect(run.stdout.match(/may have removed mail it never saw/g)).toHaveLength(1);
  expect(run.stdout).toMatch(/jobs: 0 delivered, 0 deleted, 0 left on server, may have missed mail: \d+s since the last listing, peers delete after 4s/);
  expect(run.stdout).toMatch(/MAY HAVE MISSED MAIL: the last listing came \d+s after the one before, longer than peers keep mail \(4s\)/);
});
