import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

let dataDir: string;
let serve: ChildProcess;
let url: string;

function cli(args: string[]) {
  return run(process.execPath, [...CLI, ...args], {
    env: { ...process.env, GREGOR_DATA_DIR: dataDir, GREGOR_URL: url },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gregor-cli-'));
  serve = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    serve.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}, 30_000);

afterAll(async () => {
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
});

describe('the gregor command', () => {
  it('serve starts with no settings: a data directory, a dev secret kept in it, a port it prints', async () => {
    const secrets = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(Object.keys(secrets).sort()).toEqual(['jwt_secret', 'service_secret']);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('token, send and state work against it, and a device with the token receives what was sent', async () => {
    const token = (await cli(['token', 'alice', '--device', 'laptop'])).stdout.trim();
    const { device } = await connectDevice(`${url.replace('http', 'ws')}/v1/ws`, token, 'laptop');
    const sent = await cli([
      'send',
      'alice',
      '{"system":"gregor","body":{"create":{"hi":{"category":"greeting","body":"Hi"}}}}',
    ]);
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ seq: 1, status: 'stored' });
    expect((await device.type('message')).message).toMatchObject({
      body: { create: { hi: { body: 'Hi' } } },
    });
    const state = await cli(['state', 'alice', '--device', 'laptop']);
    expect(Object.keys(JSON.parse(state.stdout).items)).toEqual(['hi']);
    await device.close();
  });

  it('bad arguments exit with 2 and a coded message', async () => {
    for (const args of [
      ['token'],
      ['token', 'a b'],
      ['token', 'alice', '--ttl', 'forever'],
      ['frobnicate'],
      ['state', 'alice', '--bogus'],
    ]) {
      const r = await cli(args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toMatch(/GREGOR_ERR_INVALID_ARGUMENT/);
    }
    const config = await cli(['serve', '--port', 'eighty']);
    expect([config.code, config.stderr]).toEqual([
      2,
      expect.stringContaining('GREGOR_ERR_INVALID_CONFIG: port (--port / GREGOR_PORT)'),
    ]);
  });
});
