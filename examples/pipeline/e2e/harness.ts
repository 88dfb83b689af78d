// Shared by the end-to-end tests: the real Rust server as a child process, free ports, a TCP
// proxy whose connections the test can sever, and the app's HTTP API.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The server binary: `PIPELINE_SERVER_BIN`, or `cargo build -p example-pipeline`'s output. */
export function serverBinary(): string {
  const bin =
    process.env.PIPELINE_SERVER_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target"), "debug", "example-pipeline");
  if (!existsSync(bin)) throw new Error(`no server binary at ${bin}: run \`cargo build -p example-pipeline\` first (scripts/test-e2e does)`);
  return bin;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ServerOptions {
  port: number;
  /** Where the server stores its runs; keep it across a restart. */
  dataDir: string;
  /** Pause between two published tokens. */
  tokenDelayMs: number;
}

/** One run of the example server. */
export class Server {
  readonly url: string;
  output = "";
  private constructor(
    readonly child: ChildProcess,
    readonly options: ServerOptions,
  ) {
    this.url = `http://127.0.0.1:${options.port}`;
  }

  /** Starts the server and waits (generously) until it listens. */
  static async start(options: ServerOptions): Promise<Server> {
    const child = spawn(serverBinary(), [], {
      env: {
        ...process.env,
        PIPELINE_LISTEN: `127.0.0.1:${options.port}`,
        PIPELINE_DATA_DIR: options.dataDir,
        PIPELINE_TOKEN_DELAY_MS: String(options.tokenDelayMs),
        CHANSPEC_SECRET: "e2e-test-secret-of-at-least-32-bytes",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const server = new Server(child, options);
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`the server did not start within 60 s:\n${server.output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        server.output += chunk.toString();
        if (server.output.includes("listening on http://")) {
          clearTimeout(timer);
          ok();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`the server exited (${code ?? signal}) before listening:\n${server.output}`));
      });
    });
    return server;
  }

  /** Stops the process (SIGKILL: a crash, nothing flushed) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((ok) => this.child.once("exit", ok));
    this.child.kill(signal);
    await exited;
  }
}

/** A TCP proxy to `127.0.0.1:target`; `cut()` severs every connection through it so far. */
export class Proxy {
  private constructor(
    private readonly server: net.Server,
    private readonly pairs: Set<[net.Socket, net.Socket]>,
    readonly port: number,
  ) {}

  static async start(target: number): Promise<Proxy> {
    const pairs = new Set<[net.Socket, net.Socket]>();
    const server = net.createServer((client) => {
      const upstream = net.connect(target, "127.0.0.1");
      const pair: [net.Socket, net.Socket] = [client, upstream];
      pairs.add(pair);
      const drop = () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    return new Proxy(server, pairs, (server.address() as net.AddressInfo).port);
  }

  /** How many connections are open through the proxy. */
  get open(): number {
    return this.pairs.size;
  }

  /** Destroys both ends of every open connection: the client sees its socket die mid-stream. */
  cut(): number {
    const n = this.pairs.size;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return n;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((ok) => this.server.close(ok));
  }
}

/** What `POST /api/runs` answers. */
export interface RunInfo {
  runId: string;
  started: boolean;
  channel: string;
  steps: string[];
  currentStep: string | null;
  finished: boolean;
  tokens: number;
}

/** Creates a run (not started); returns it and the session cookie the server set. */
export async function createRun(base: string, cookie?: string): Promise<{ run: RunInfo; cookie: string }> {
  const response = await fetch(`${base}/api/runs`, { method: "POST", headers: cookie ? { cookie } : {} });
  if (response.status !== 201) throw new Error(`POST /api/runs: ${response.status} ${await response.text()}`);
  const set = response.headers.get("set-cookie");
  return { run: (await response.json()) as RunInfo, cookie: cookie ?? (set ?? "").split(";")[0] ?? "" };
}

/** Starts a created run's pipeline. */
export async function startRun(base: string, runId: string, cookie: string): Promise<RunInfo> {
  const response = await fetch(`${base}/api/runs/${runId}/start`, { method: "POST", headers: { cookie } });
  if (response.status !== 202) throw new Error(`POST /api/runs/${runId}/start: ${response.status} ${await response.text()}`);
  return (await response.json()) as RunInfo;
}

/** `GET /api/realtime-token?runId=…` with a session cookie (or none). */
export async function requestToken(base: string, runId: string, cookie?: string): Promise<Response> {
  return fetch(`${base}/api/realtime-token?runId=${encodeURIComponent(runId)}`, { headers: cookie ? { cookie } : {} });
}

/** Polls `check` until it returns true (generous timeout, no timing assertion). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}
