import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
/** The same command by absolute paths, to run it from any folder. */
const CLI_ANYWHERE = [
  '--import',
  pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href,
  join(process.cwd(), 'src/cli/main.ts'),
];

let dataDir: string;
let serve: ChildProcess;
let url: string;

function cli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  return run(process.execPath, [...CLI_ANYWHERE, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, GREGOR_DATA_DIR: dataDir, GREGOR_URL: url, ...options.env },
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
  serve = spawn(
    process.execPath,
    [...CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--jwt-leeway-seconds', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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

  it('run from another folder of the project, the CLI finds the data directory the server uses', async () => {
    const project = await mkdtemp(join(tmpdir(), 'gregor-project-'));
    try {
      await mkdir(join(project, 'data'));
      await copyFile(join(dataDir, 'secrets.json'), join(project, 'data', 'secrets.json'));
      const deep = join(project, 'src', 'deep');
      await mkdir(deep, { recursive: true });
      const r = await cli(['state', 'alice'], { cwd: deep, env: { GREGOR_DATA_DIR: undefined } });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`dev secrets in ${join(project, 'data', 'secrets.json')}`);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });

  it('run where there are no dev secrets, the CLI says so plainly and makes none', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'gregor-elsewhere-'));
    try {
      const r = await cli(['token', 'alice'], { cwd: elsewhere, env: { GREGOR_DATA_DIR: undefined } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `GREGOR_ERR_INVALID_CONFIG: no dev secrets at ${join(elsewhere, 'data', 'secrets.json')}`,
      );
      expect(existsSync(join(elsewhere, 'data'))).toBe(false);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('signed with secrets the server does not have, the CLI says which secrets it used', async () => {
    const other = await mkdtemp(join(tmpdir(), 'gregor-other-'));
    try {
      await writeFile(
        join(other, 'secrets.json'),
        JSON.stringify({ jwt_secret: 'not-the-server-s', service_secret: 'not-the-server-s-either' }),
      );
      const r = await cli(['state', 'alice'], { env: { GREGOR_DATA_DIR: other } });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).code).toBe('GREGOR_ERR_AUTH_INVALID');
      expect(r.stderr).toContain(
        `refused a token signed with the secrets from ${join(other, 'secrets.json')}`,
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('watch syncs only after hello, and renews its token when it expires instead of quitting', async () => {
    const watcher = spawn(process.execPath, [...CLI, 'watch', 'renewed', '--ttl', '2s'], {
      env: { ...process.env, GREGOR_DATA_DIR: dataDir, GREGOR_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    watcher.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    watcher.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((r) => watcher.once('exit', (code) => r(code)));
    try {
      await until(() => out.includes('"type":"state"'), 'the first state');
      // The 2 s token expires (leeway 0): the watcher reconnects with a fresh one, from its cursor.
      await until(
        () => /closed: 4005/.test(err) && out.split('"type":"hello"').length > 2,
        'a second hello',
        20_000,
      );
      await cli(['send', 'renewed', '{"system":"gregor","body":{"create":{"after":{"category":"c"}}}}']);
      await until(() => out.includes('"after"'), 'the message sent after the renewal');
      expect(err).not.toMatch(/closed: 45\d\d/);
    } finally {
      watcher.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 40_000);
});

/** Waits for a condition on a child's output (no sleeps standing in for it). */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('npm start', () => {
  for (const [how, signal] of [
    ['SIGTERM to the npm process', 'SIGTERM'],
    ['Ctrl-C (SIGINT to the whole process group)', 'SIGINT'],
  ] as const) {
    it(`stops the server gracefully on ${how}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gregor-npm-start-'));
      const npm = spawn('npm', ['start', '--silent'], {
        env: { ...process.env, GREGOR_PORT: '0', GREGOR_DATA_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      npm.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<void>((r) => npm.once('exit', () => r()));
      try {
        await until(() => /listening on (http:\/\/\S+)/.test(out), 'the server to listen', 30_000);
        const server = /listening on (http:\/\/\S+)/.exec(out)![1]!;
        expect((await fetch(`${server}/healthz`)).status).toBe(200);
        if (signal === 'SIGTERM') npm.kill('SIGTERM');
        else process.kill(-npm.pid!, 'SIGINT');
        await exited;
        expect(out).toContain('shutting down');
        // Nothing is left listening once npm has exited.
        await expect(fetch(`${server}/healthz`)).rejects.toThrow();
      } finally {
        try {
          process.kill(-npm.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);
  }
});
