/**
 * The only module that touches the host: files, environment, home directory, processes.
 *
 * It uses `node:` built-ins, which both Node (>= 20) and Deno 2 provide, so one implementation
 * serves both runtimes. Everything else in sealfig is runtime-neutral and receives what it needs
 * from here.
 *
 * @module
 */
import * as fs from "node:fs/promises";
import { constants as fsConstants } from "node:fs";
import * as nodeFsSync from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import process from "node:process";
import { createRequire } from "node:module";
import * as nodeUtil from "node:util";
import * as nodeTimers from "node:timers";
import { fileURLToPath } from "node:url";
import { concat } from "./crypto/bytes.ts";
import { SealfigError } from "./errors.ts";

/** Information about a file, as far as sealfig needs it. */
export interface FileInfo {
  /** Size in bytes. */
  size: number;
  /** Permission bits (`mode & 0o777`); undefined on platforms without POSIX modes. */
  mode: number | undefined;
  /** Modification time in ms since the epoch. */
  mtimeMs: number;
  /** True for a regular file. */
  isFile: boolean;
  /** Owner's user id; undefined on platforms without POSIX owners. */
  uid?: number | undefined;
  /** The sticky bit (a directory whose entries only their owners may replace). */
  sticky?: boolean | undefined;
}

/** True on Windows, where POSIX permission bits mean nothing. */
export const isWindows: boolean = process.platform === "win32";

/**
 * Read a whole file as bytes. Throws the host error (with `code` such as `ENOENT`), or
 * `PERMISSION_DENIED` when the runtime denies the read.
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  let buf;
  try {
    buf = await fs.readFile(path);
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Stat a file; undefined when it does not exist. */
export async function statFile(path: string): Promise<FileInfo | undefined> {
  try {
    const st = await fs.stat(path);
    return {
      size: st.size,
      mode: isWindows ? undefined : st.mode & 0o777,
      mtimeMs: st.mtimeMs,
      isFile: st.isFile(),
      uid: isWindows ? undefined : st.uid,
      sticky: isWindows ? undefined : (st.mode & 0o1000) !== 0,
    };
  } catch (err) {
    if (hostErrorCode(err) === "ENOENT") return undefined;
    throw permissionDenied(err) ?? err;
  }
}

/** Options for {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits for a new file. Default: the existing file's mode, else 0o644. */
  mode?: number;
}

let tmpCounter = 0;

/**
 * Remove temporary files that an earlier, killed write to `name` left in `dir`: those named
 * `.<name>.sealfig-<pid>-….tmp` whose process no longer runs. Best effort: errors are ignored.
 */
async function removeStaleTemps(dir: string, name: string): Promise<void> {
  const prefix = `.${name}.sealfig-`;
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith(".tmp")) continue;
    const pid = Number(/^(\d+)-/.exec(entry.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    await fs.rm(nodePath.join(dir, entry), { force: true }).catch(() => {});
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM"; // alive, owned by someone else
  }
}

/**
 * Write a file atomically: write a temporary file in the same directory, fsync it, then rename it
 * over the target. A crash at any moment leaves either the old or the new complete file (and, after
 * `kill -9`, possibly the temporary file, which the next write to the same path removes once its
 * writer is gone). The mode of an existing file is kept unless `options.mode` is given. A symbolic
 * link is written through: its target is replaced, atomically, and the link is left as it is.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  // A symbolic link is written through: the file it points to is replaced (atomically, by a
  // temporary file in that file's directory) and the link stays a link.
  const path = await followLinks(target);
  const dir = nodePath.dirname(path);
  await removeStaleTemps(dir, nodePath.basename(path));
  const existing = await statFile(path);
  const mode = options.mode ?? existing?.mode ?? 0o644;
  const tmp = nodePath.join(
    dir,
    `.${nodePath.basename(path)}.sealfig-${process.pid}-${Date.now()}-${tmpCounter++}.tmp`,
  );
  const fh = await fs.open(
    tmp,
    fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL,
    mode,
  );
  try {
    await fh.writeFile(data);
    if (!isWindows) await fh.chmod(mode);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  // Make the rename durable where the platform allows fsync on a directory.
  if (!isWindows) {
    try {
      const dh = await fs.open(dir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // Some file systems refuse fsync on directories; the rename itself is still atomic.
    }
  }
}

/**
 * The file a path names once symbolic links are followed (a dangling link: the path it points
 * to, which a write creates). More than 40 links in a row is a loop (`ELOOP`).
 */
async function followLinks(path: string): Promise<string> {
  let p = path;
  for (let hops = 0; hops <= 40; hops++) {
    let st;
    try {
      st = await fs.lstat(p);
    } catch (err) {
      if (hostErrorCode(err) === "ENOENT") return p;
      throw err;
    }
    if (!st.isSymbolicLink()) return p;
    p = nodePath.resolve(nodePath.dirname(p), await fs.readlink(p));
  }
  throw Object.assign(new Error(`Too many symbolic links: ${path}`), { code: "ELOOP" });
}

/** Create a directory (and parents) with the given mode. */
export async function makeDir(path: string, mode = 0o700): Promise<void> {
  await fs.mkdir(path, { recursive: true, mode });
}

/** Read one environment variable; undefined when unset. `PERMISSION_DENIED` when denied. */
export function getEnv(name: string): string | undefined {
  try {
    return process.env[name];
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
}

/** A snapshot of the whole process environment. `PERMISSION_DENIED` when denied. */
export function getEnvAll(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v;
    return out;
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
}

/** The user's configuration directory: `$XDG_CONFIG_HOME`, `%APPDATA%` or `~/.config`. */
export function userConfigDir(): string {
  const xdg = getEnv("XDG_CONFIG_HOME");
  if (xdg) return xdg;
  if (isWindows) {
    const appData = getEnv("APPDATA");
    if (appData) return appData;
  }
  try {
    return nodePath.join(os.homedir(), ".config");
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
}

/** Deno's permission flag for each kind of access it checks. */
const DENO_FLAGS: Readonly<Record<string, string>> = {
  read: "--allow-read",
  write: "--allow-write",
  net: "--allow-net",
  env: "--allow-env",
  sys: "--allow-sys",
  run: "--allow-run",
  ffi: "--allow-ffi",
  import: "--allow-import",
};

/** Node's permission model (`--permission`): the flag for each denied permission. */
const NODE_FLAGS: Readonly<Record<string, string>> = {
  FileSystemRead: "--allow-fs-read",
  FileSystemWrite: "--allow-fs-write",
  ChildProcess: "--allow-child-process",
  WorkerThreads: "--allow-worker",
  WASI: "--allow-wasi",
  Addon: "--allow-addons",
};

/**
 * The runtime's refusal of an access, as a `PERMISSION_DENIED` error naming the permission, what
 * was asked for and the flag that grants it; undefined when `err` is anything else (also when it
 * is the operating system's EACCES, which is not a runtime permission). Recognises Deno's
 * `NotCapable` (Deno 2; `PermissionDenied` with the same message in Deno 1) and Node's
 * `ERR_ACCESS_DENIED`. What was asked for (an environment variable's name, a path, a host) is
 * named, never a value.
 */
export function permissionDenied(err: unknown): SealfigError | undefined {
  if (err instanceof SealfigError) return err.code === "PERMISSION_DENIED" ? err : undefined;
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { name?: unknown; message?: unknown; code?: unknown; permission?: unknown };
  const message = typeof e.message === "string" ? e.message : "";
  if (e.name === "NotCapable" || e.name === "PermissionDenied") {
    const m = /^Requires (\w+) access(?: to (.+?))?, run again with the (--allow-[a-z-]+) flag/
      .exec(message);
    if (!m) return undefined;
    const [, kind, what, flag] = m as unknown as [string, string, string | undefined, string];
    const target = what === undefined ? "" : what.replace(/^"(.*)"$/, "$1");
    const grant = target && kind !== "sys" && kind !== "run"
      ? `${flag}=${target}`
      : DENO_FLAGS[kind] ?? flag;
    return new SealfigError(
      "PERMISSION_DENIED",
      `Deno denied ${kind} access${what === undefined ? "" : ` to ${what}`}`,
      {
        hint: `Run with ${grant} (or add it to your ${flag} list); the README's ` +
          `"Deno permissions" section lists what an app needs`,
        cause: err,
      },
    );
  }
  if (e.code === "ERR_ACCESS_DENIED") {
    const permission = typeof e.permission === "string" ? e.permission : "";
    const resource = (err as { resource?: unknown }).resource;
    const flag = NODE_FLAGS[permission];
    return new SealfigError(
      "PERMISSION_DENIED",
      `Node's permission model denied ${permission || "an access"}` +
        (typeof resource === "string" && resource ? ` to "${resource}"` : ""),
      {
        hint: flag
          ? `Run with ${flag} for what sealfig needs (node --permission)`
          : "Grant the access with the matching --allow-* flag (node --permission)",
        cause: err,
      },
    );
  }
  return undefined;
}

/** Join path segments with the platform separator. */
export function joinPath(...parts: string[]): string {
  return nodePath.join(...parts);
}

/** Resolve a path against the current working directory. */
export function resolvePath(...parts: string[]): string {
  return nodePath.resolve(...parts);
}

/** The `code` of a host error (`ENOENT`, `EACCES` …), if any. */
export function hostErrorCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** A running HTTP server started by {@link serveHttp}. */
export interface HttpServerHandle {
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** The host it is bound to. */
  readonly hostname: string;
  /** Stop accepting connections, close open ones and resolve when closed. */
  close(): Promise<void>;
}

/** Options for {@link serveHttp}. */
export interface ServeHttpOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  hostname?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** Largest request body accepted: a larger one gets 413 and its connection closed. Default none. */
  maxBodyBytes?: number;
  /** Most connections open at once: more are closed as they arrive. Default none. */
  maxConnections?: number;
  /**
   * Time a connection has to send a request's headers, from when it opens or its previous
   * response was sent (so also the idle time of a kept-alive connection). Default none.
   */
  headersTimeoutMs?: number;
  /** Time a request's body has to arrive once its headers have: else 408, closed. Default none. */
  bodyTimeoutMs?: number;
  /** Told each time a limit above refuses a request or closes a connection. */
  onRefused?: (reason: HttpRefusal) => void;
}

/** Why {@link serveHttp} refused a request or closed a connection. */
export type HttpRefusal =
  | "body-too-large"
  | "too-many-connections"
  | "headers-timeout"
  | "body-timeout";

/**
 * Serve a web-standard `(Request) => Promise<Response>` handler over HTTP/1.1 with `node:http`
 * (available on Node and Deno 2). The handler stays runtime-neutral.
 */
export async function serveHttp(
  handler: (request: Request) => Promise<Response>,
  options: ServeHttpOptions = {},
): Promise<HttpServerHandle> {
  const http = await import("node:http");
  const hostname = options.hostname ?? "127.0.0.1";
  const sockets = new Set<import("node:net").Socket>();
  const limits = transportLimits(options);
  const server = http.createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    if (!limits.request(req, res, chunks)) return;
    req.on("error", () => res.destroy());
    req.on("end", () => {
      if (!limits.bodyDone(req)) return;
      const body = chunks.length ? concatChunks(chunks) : undefined;
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === "string") headers.set(k, v);
        else if (Array.isArray(v)) { for (const x of v) headers.append(k, x); }
      }
      const method = req.method ?? "GET";
      const request = new Request(`http://${hostname}${req.url ?? "/"}`, {
        method,
        headers,
        ...(body && method !== "GET" && method !== "HEAD" ? { body } : {}),
      });
      handler(request).then(async (response) => {
        const out = new Uint8Array(await response.arrayBuffer());
        const h: Record<string, string> = {};
        response.headers.forEach((v, k) => (h[k] = v));
        h["content-length"] = String(out.byteLength);
        res.writeHead(response.status, h);
        res.end(out);
      }, (err: unknown) => {
        // HttpConnectionReset (defined at the end of this module) asks for an abrupt TCP reset.
        if (err instanceof HttpConnectionReset) {
          const socket = req.socket as { resetAndDestroy?: () => void; destroy(): void };
          if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
          else socket.destroy();
          return;
        }
        res.writeHead(500);
        res.end();
      });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    limits.connection(s, sockets.size);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, hostname, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    hostname,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type NodeSocket = import("node:net").Socket;
type NodeRequest = import("node:http").IncomingMessage;
type NodeResponse = import("node:http").ServerResponse;

/**
 * The limits of {@link serveHttp}, enforced with its own timers and counters (the same on Node and
 * Deno, whose `node:http` servers do not all honour Node's server timeout options). A request
 * being answered is never timed out: only the client's side (headers, body) is.
 */
function transportLimits(options: ServeHttpOptions): {
  connection(socket: NodeSocket, open: number): void;
  request(req: NodeRequest, res: NodeResponse, chunks: Uint8Array[]): boolean;
  bodyDone(req: NodeRequest): boolean;
} {
  const headerTimers = new WeakMap<NodeSocket, ReturnType<typeof setTimeout>>();
  const bodyTimers = new WeakMap<NodeRequest, ReturnType<typeof setTimeout>>();
  const refused = new WeakSet<NodeRequest>();
  const refuse = (reason: HttpRefusal) => options.onRefused?.(reason);
  const awaitHeaders = (socket: NodeSocket) => {
    const ms = options.headersTimeoutMs;
    if (ms === undefined || socket.destroyed) return;
    clearTimeout(headerTimers.get(socket));
    headerTimers.set(
      socket,
      setTimeout(() => {
        refuse("headers-timeout");
        socket.destroy();
      }, ms),
    );
  };
  const reject = (req: NodeRequest, res: NodeResponse, status: number, reason: HttpRefusal) => {
    refused.add(req);
    clearTimeout(bodyTimers.get(req));
    refuse(reason);
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    res.on("finish", () => req.socket.destroy());
    res.writeHead(status, { connection: "close", "content-type": "text/plain" });
    res.end(status === 413 ? "Request body too large" : "Request timeout");
  };
  return {
    connection(socket, open) {
      if (options.maxConnections !== undefined && open > options.maxConnections) {
        refuse("too-many-connections");
        socket.destroy();
        return;
      }
      socket.on("close", () => clearTimeout(headerTimers.get(socket)));
      awaitHeaders(socket);
    },
    request(req, res, chunks) {
      clearTimeout(headerTimers.get(req.socket));
      res.on("finish", () => awaitHeaders(req.socket));
      const max = options.maxBodyBytes;
      const declared = Number(req.headers["content-length"] ?? 0);
      if (max !== undefined && declared > max) {
        reject(req, res, 413, "body-too-large");
        return false;
      }
      if (options.bodyTimeoutMs !== undefined) {
        bodyTimers.set(
          req,
          setTimeout(() => reject(req, res, 408, "body-timeout"), options.bodyTimeoutMs),
        );
      }
      let size = 0;
      req.on("data", (c: Uint8Array) => {
        if (refused.has(req)) return;
        size += c.byteLength;
        if (max !== undefined && size > max) {
          chunks.length = 0;
          reject(req, res, 413, "body-too-large");
        } else chunks.push(c);
      });
      return true;
    },
    bodyDone(req) {
      clearTimeout(bodyTimers.get(req));
      return !refused.has(req);
    },
  };
}

function concatChunks(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Added for the AWS KMS provider and the local KMS server (issue 4): signals, stdout, module-load
// introspection for tests, inspection, and connection resets for fault injection.
// ---------------------------------------------------------------------------------------------

/**
 * Thrown (or rejected) by a {@link serveHttp} handler to make the server reset the connection
 * (TCP RST where the host supports it, else an abrupt close) instead of answering.
 */
export class HttpConnectionReset extends Error {
  constructor() {
    super("connection reset on purpose");
    this.name = "HttpConnectionReset";
  }
}

/**
 * Call `fn` after `ms` milliseconds without keeping the process alive for it (an unref'd timer,
 * on Node and Deno). Returns a function that cancels it.
 */
export function unrefTimeout(fn: () => void, ms: number): () => void {
  const timer = nodeTimers.setTimeout(fn, ms);
  timer.unref();
  return () => nodeTimers.clearTimeout(timer);
}

/** The termination signals {@link onTerminationSignal} listens for. */
export type TerminationSignal =
  | "SIGINT"
  | "SIGTERM"
  | "SIGHUP"
  | "SIGQUIT"
  | "SIGUSR2"
  | "SIGALRM"
  | "SIGVTALRM"
  | "SIGXCPU"
  | "SIGXFSZ"
  | "SIGIO"
  | "SIGPWR"
  | "SIGSTKFLT";

/**
 * Every catchable signal whose default action ends the process, except SIGUSR1 (Node's debugger),
 * SIGPROF (profilers) and SIGPIPE (ignored by Node): a cleanup that listens to INT and TERM only
 * would leave its files behind on Ctrl-\ (QUIT), a hang-up or a stray `kill -USR2`.
 */
const TERMINATION_SIGNALS: readonly TerminationSignal[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR2",
  "SIGALRM",
  "SIGVTALRM",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGIO",
  "SIGPWR",
  "SIGSTKFLT",
];

/**
 * Call `handler` when the process receives a terminating signal ({@link TerminationSignal}: those
 * the platform has; only SIGINT on Windows). Returns a function that removes the listeners.
 */
export function onTerminationSignal(handler: (signal: TerminationSignal) => void): () => void {
  const signals: TerminationSignal[] = isWindows
    ? ["SIGINT"]
    : TERMINATION_SIGNALS.filter((sig) => sig in os.constants.signals);
  const listeners = signals.map((sig) => {
    const listener = () => handler(sig);
    process.on(sig, listener);
    return [sig, listener] as const;
  });
  return () => {
    for (const [sig, listener] of listeners) process.off(sig, listener);
  };
}

/** Write text to standard output (no newline added). */
export function writeStdout(text: string): void {
  process.stdout.write(text);
}

/** Write text to standard error (no newline added). */
export function writeStderr(text: string): void {
  process.stderr.write(text);
}

/**
 * The file paths of the CommonJS modules loaded so far in this isolate (the `require.cache`
 * keys). npm packages whose entry point is CommonJS (such as `@aws-sdk/client-kms`) show up here
 * on Node and on Deno however they were imported, so tests can assert a package was not loaded.
 */
export function loadedCommonJsModules(): string[] {
  const req = createRequire(import.meta.url);
  return Object.keys(req.cache);
}

/** The host's debug rendering of a value (`util.inspect`), as a log line or REPL would show it. */
export function inspectValue(value: unknown): string {
  return nodeUtil.inspect(value, { depth: 6, showHidden: true, getters: false });
}

// ---------------------------------------------------------------------------------------------
// Added for the CLI (issue 5): stdin, TTYs, child processes, private temp dirs, exit.
// ---------------------------------------------------------------------------------------------

/** The command-line arguments after the script name. */
export function commandLineArgs(): string[] {
  return process.argv.slice(2);
}

/** This process's user id; undefined on platforms without POSIX users. */
export function currentUserId(): number | undefined {
  try {
    return typeof process.getuid === "function" ? process.getuid() : undefined;
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
}

/** Set an environment variable of this process (only before the module that reads it loads). */
export function setEnv(name: string, value: string): void {
  process.env[name] = value;
}

/** The current working directory. */
export function currentDir(): string {
  try {
    return process.cwd();
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
}

/** Exit the process now with `code`. */
export function exitProcess(code: number): never {
  process.exit(code);
}

/** Set the exit code the process ends with when the event loop drains. */
export function setExitCode(code: number): void {
  process.exitCode = code;
}

/** Read all of standard input. */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  return concatChunks(chunks);
}

/** Whether a standard stream is a terminal. */
export function isTerminal(stream: "stdin" | "stdout" | "stderr"): boolean {
  return Boolean(process[stream].isTTY);
}

/** A path relative to `from` (for short messages). */
export function relativePath(from: string, to: string): string {
  return nodePath.relative(from, to) || ".";
}

/** The directory part of a path. */
export function dirName(path: string): string {
  return nodePath.dirname(path);
}

/** The last part of a path. */
export function baseName(path: string): string {
  return nodePath.basename(path);
}

/** Remove a file or directory tree; missing paths are fine. */
export async function removePath(path: string): Promise<void> {
  await fs.rm(path, { recursive: true, force: true });
}

/** Remove a file or directory tree synchronously (for exit paths that cannot wait). */
export function removePathSync(path: string): void {
  try {
    nodeFsSync.rmSync(path, { recursive: true, force: true });
  } catch {
    // best effort on the way out
  }
}

/**
 * Create a private directory (mode 0700) for plaintext scratch files, on a RAM-backed file system
 * where one exists (`/dev/shm` on Linux, else `$XDG_RUNTIME_DIR`), else the system temp dir.
 */
export async function makePrivateTempDir(prefix: string): Promise<string> {
  // What a killed (SIGKILL) earlier run left behind goes first.
  await sweepStaleTempDirs(prefix);
  for (const base of privateTempBases()) {
    try {
      // `<prefix><pid>-XXXXXX`: the pid tells a later sweep whether the owner still runs.
      const dir = await fs.mkdtemp(nodePath.join(base, `${prefix}${process.pid}-`));
      if (!isWindows) await fs.chmod(dir, 0o700);
      return dir;
    } catch {
      // not writable here; try the next candidate
    }
  }
  throw new Error("No writable temporary directory");
}

/** Where private temp dirs are made, in order of preference. */
function privateTempBases(): string[] {
  const bases = [getEnv("SEALFIG_TMPDIR"), "/dev/shm", getEnv("XDG_RUNTIME_DIR"), os.tmpdir()];
  return [...new Set(bases.filter((b): b is string => !!b))];
}

/**
 * Remove the private temp dirs `<prefix><pid>-…` (made by {@link makePrivateTempDir}) whose
 * process no longer runs: what `sealfig edit` killed with SIGKILL leaves behind, plaintext
 * included. Only directories (not symlinks) owned by this user are touched; a dir whose pid is
 * alive (or was reused by a live process) is left alone. Best effort; resolves to how many it
 * removed. Every command that makes such a dir calls it first.
 */
export async function sweepStaleTempDirs(prefix: string): Promise<number> {
  let removed = 0;
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  for (const base of privateTempBases()) {
    let entries: string[];
    try {
      entries = await fs.readdir(base);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.startsWith(prefix)) continue;
      const pid = Number(/^([0-9]{1,10})-/.exec(entry.slice(prefix.length))?.[1]);
      if (!Number.isSafeInteger(pid) || pid <= 0 || processAlive(pid)) continue;
      const dir = nodePath.join(base, entry);
      try {
        const info = await fs.lstat(dir);
        if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
        await fs.rm(dir, { recursive: true, force: true });
        removed++;
      } catch {
        // gone already, or not ours to remove
      }
    }
  }
  return removed;
}

/** Write a new file exclusively with `mode` (fails if it exists). */
export async function writeNewFile(
  path: string,
  data: Uint8Array | string,
  mode = 0o600,
): Promise<void> {
  const fh = await fs.open(
    path,
    fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL,
    mode,
  );
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** How a child process ended. */
export interface ChildExit {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** The signal that killed it, if any. */
  signal: string | null;
}

/** Options for {@link runChild}. */
export interface RunChildOptions {
  /** Environment for the child. Default: this process's environment. */
  env?: Record<string, string>;
  /** Run through the shell (`sh -c` / `cmd`), for editor commands with arguments. */
  shell?: boolean;
  /** Forward the terminating signals this process receives (SIGINT, SIGTERM, SIGHUP, SIGQUIT …) to the child. Default true. */
  forwardSignals?: boolean;
}

/**
 * Run a command with inherited standard streams and wait for it. Signals this process receives
 * are forwarded to the child, so Ctrl-C reaches an editor or a `sealfig run` child.
 */
export async function runChild(
  command: string,
  args: readonly string[],
  options: RunChildOptions = {},
): Promise<ChildExit> {
  const { spawn } = await import("node:child_process");
  return await new Promise<ChildExit>((resolve, reject) => {
    const child = spawn(command, args as string[], {
      stdio: "inherit",
      env: options.env ?? process.env,
      shell: options.shell ?? false,
    });
    const forwarded: [string, () => void][] = [];
    if (options.forwardSignals !== false) {
      const signals = isWindows
        ? ["SIGINT"]
        : TERMINATION_SIGNALS.filter((sig) => sig in os.constants.signals);
      for (const sig of signals) {
        const l = () => {
          child.kill(sig as "SIGINT");
        };
        process.on(sig, l);
        forwarded.push([sig, l]);
      }
    }
    const cleanup = () => {
      for (const [sig, l] of forwarded) process.off(sig, l);
    };
    child.on("error", (err) => {
      cleanup();
      reject(err);
    });
    child.on("exit", (code, signal) => {
      cleanup();
      resolve({ code, signal });
    });
  });
}

/** Replace the signal number of a signal name for exit codes (128 + n). */
export function signalNumber(signal: string): number {
  return os.constants.signals[signal as keyof typeof os.constants.signals] ?? 1;
}

/** Send a signal to this process (used to re-raise a child's signal). */
export function killSelf(signal: string): void {
  process.kill(process.pid, signal as "SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// Added for the config loader (issue 3): file URLs as paths.
// ---------------------------------------------------------------------------------------------

/**
 * A file path from a path string or a `file:` URL (e.g. `new URL("./config/", import.meta.url)`),
 * resolved against `base` (a directory path or `file:` URL) when relative. Default base: the
 * working directory.
 */
export function toFilePath(path: string | URL, base?: string | URL): string {
  const asPath = (p: string | URL) => (typeof p === "string" ? p : fileURLToPath(p));
  const resolved = asPath(path);
  return base === undefined ? resolved : nodePath.resolve(asPath(base), resolved);
}

let stdinBuffer = "";
let stdinEnded = false;

/**
 * Read one line from standard input (without the line break); undefined at end of input. Reads
 * only as far as needed and pauses stdin between calls, so a child started afterwards (an editor)
 * still owns the terminal.
 */
export function readStdinLine(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const take = (): boolean => {
      const nl = stdinBuffer.indexOf("\n");
      if (nl >= 0) {
        const line = stdinBuffer.slice(0, nl).replace(/\r$/, "");
        stdinBuffer = stdinBuffer.slice(nl + 1);
        resolve(line);
        return true;
      }
      if (stdinEnded) {
        const rest = stdinBuffer;
        stdinBuffer = "";
        resolve(rest === "" ? undefined : rest);
        return true;
      }
      return false;
    };
    if (take()) return;
    const onData = (chunk: Uint8Array | string) => {
      stdinBuffer += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
      if (take()) done();
    };
    const onEnd = () => {
      stdinEnded = true;
      take();
      done();
    };
    const done = () => {
      process.stdin.off("data", onData);
      process.stdin.off("end", onEnd);
      process.stdin.pause();
    };
    process.stdin.on("data", onData);
    process.stdin.on("end", onEnd);
    process.stdin.resume();
  });
}

/** Import a module by file path (for user schema modules). */
export async function importFile(path: string): Promise<Record<string, unknown>> {
  const { pathToFileURL } = await import("node:url");
  return await import(pathToFileURL(nodePath.resolve(path)).href) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Added for the merge driver (issue 9): run a command and capture its output.
// ---------------------------------------------------------------------------------------------

/** How a captured child process ended, with its output. */
export interface CapturedChild extends ChildExit {
  /** Everything it wrote to stdout, as UTF-8 text. */
  stdout: string;
  /** Everything it wrote to stderr, as UTF-8 text. */
  stderr: string;
}

/**
 * Run a command (no shell) with stdin closed and capture its stdout and stderr. Rejects when it
 * cannot be started (e.g. not installed).
 */
export async function runChildCapture(
  command: string,
  args: readonly string[],
): Promise<CapturedChild> {
  const { spawn } = await import("node:child_process");
  return await new Promise<CapturedChild>((resolve, reject) => {
    const child = spawn(command, args as string[], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout!.on("data", (d: Uint8Array) => out.push(d));
    child.stderr!.on("data", (d: Uint8Array) => err.push(d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const text = (parts: Uint8Array[]) => new TextDecoder().decode(concat(...parts));
      resolve({ code, signal, stdout: text(out), stderr: text(err) });
    });
  });
}
