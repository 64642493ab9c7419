import { describe, expect, it } from 'vitest';
import { isLoopback, isLoopbackAddress } from '../../../src/util/loopback.js';
import { SecretScrubber } from '../../../src/pop3/scrub.js';

describe('SecretScrubber', () => {
  it('strikes a secret and its base64, longest form first', () => {
    const s = new SecretScrubber();
    s.addSecret('hunter2');
    s.addForm(Buffer.from('\0alice\0hunter2').toString('base64'));
    const blob = Buffer.from('\0alice\0hunter2').toString('base64');
    expect(s.scrub(`bad password hunter2 (${Buffer.from('hunter2').toString('base64')}) ${blob}`)).toBe('bad password **** (****) ****');
  });

  it('leaves text without a secret as it is, and forms too short to strike safely alone', () => {
    const s = new SecretScrubber();
    expect(s.empty).toBe(true);
    s.addSecret('1');
    expect(s.scrub('+OK 1 message')).toBe('+OK 1 message');
  });
});

describe('loopback', () => {
  it('by name: only "localhost" and literal loopback addresses, never "*.localhost"', () => {
    expect(['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]'].map(isLoopback)).toEqual([true, true, true, true, true, true]);
    expect(['evil.localhost', 'localhost.evil.org', '128.0.0.1', '10.0.0.1', '::2'].map(isLoopback)).toEqual([false, false, false, false, false]);
  });

  it('by the address connected to, IPv4-mapped included', () => {
    expect(['127.0.0.1', '::ffff:127.0.0.1', '::1', '127.255.255.254'].map(isLoopbackAddress)).toEqual([true, true, true, true]);
    expect([undefined, '10.1.2.3', '::ffff:10.1.2.3', 'fe80::1', '1270.0.0.1'].map(isLoopbackAddress)).toEqual([false, false, false, false, false]);
  });
});
