import { expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

it('the demo runs two peer hosts against its own loopback server and each gets every request once', async () => {
  const run = await runCli(['demo']);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toContain('jobs: 4 delivered, 0 deleted, 4 left on server');
  expect(run.stdout).toContain('jobs: 0 delivered, 6 deleted, 0 left on server');
  const received = run.stdout.match(/host [AB] \(\w+\): (.*)/g)!;
  expect(received).toHaveLength(2);
  for (const line of received) expect(line).toMatch(/job backup, job build, job cleanup, job notify, job report, job resize$/);
  expect(run.stdout).toContain('on the server: 0');
});
