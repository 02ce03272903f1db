/**
 * `sealfig kms-server`: run the local KMS-compatible server until SIGINT or SIGTERM.
 *
 * @module
 */
import { onTerminationSignal, readFileBytes, writeStderr, writeStdout } from "../runtime.ts";
import { fromUtf8 } from "../crypto/bytes.ts";
import { type KmsPolicy, type KmsServerOptions, startKmsServer } from "./server.ts";

const USAGE = `Usage: sealfig kms-server [options]

Runs a local AWS KMS-compatible server (development and tests only: no signature checks, and the
state file holds raw key material).

Options:
  --host HOST            interface to bind (default 127.0.0.1; others need --allow-remote)
  --allow-remote         allow binding beyond loopback (no authentication: think twice)
  --allowed-host NAME    also accept requests whose Host header is NAME (repeatable)
  --port PORT            port (default 0: a free port)
  --state FILE           keep keys in FILE (created with mode 0600; default: in memory)
  --policy FILE          JSON permission model {"<accessKeyId>": {"<key ref or *>": ["Decrypt", ...]}}
  --region REGION        default region (default us-east-1)
  --account ID           12-digit account id (default 111122223333)
  --latency MS           add MS milliseconds to every answer
  --throttle-rate R      answer a fraction R (0..1) of requests with ThrottlingException
  --error-rate R         answer a fraction R (0..1) of requests with KMSInternalException
  --seed N               seed for the fault dice
  --quota-rps N          request-rate quota: N cryptographic requests per second per account
                         and region (token bucket), ThrottlingException beyond it
  --quota-burst N        the quota bucket's size (default N/10)
  -h, --help             show this help

Prints the endpoint (http://host:port) on stdout, then serves until interrupted.
`;

/** A `--flag value` parse failure. */
class UsageError extends Error {}

/**
 * Run the local KMS server from command-line arguments. Resolves with the exit code once the
 * process receives SIGINT or SIGTERM (0), or immediately on bad arguments (2).
 *
 * @example
 * ```ts
 * import { runKmsServer } from "@sealfig/sealfig/kms-server";
 * // sealfig kms-server --port 4566 --state .kms-state.json
 * const code = await runKmsServer(["--port", "4566", "--state", ".kms-state.json"]);
 * ```
 */
export async function runKmsServer(args: string[]): Promise<number> {
  let options: KmsServerOptions;
  try {
    const parsed = await parseArgs(args);
    if (parsed === "help") {
      writeStdout(USAGE);
      return 0;
    }
    options = parsed;
  } catch (err) {
    if (err instanceof UsageError) {
      writeStderr(`sealfig kms-server: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  const server = await startKmsServer(options);
  if (options.allowRemote === true) {
    writeStderr(
      `sealfig kms-server: WARNING: listening on ${server.hostname}, beyond loopback. It has no ` +
        `authentication and its keys are for development only.\n`,
    );
  }
  writeStdout(`${server.endpoint}\n`);
  await new Promise<void>((resolve) => {
    const off = onTerminationSignal(() => {
      off();
      resolve();
    });
  });
  await server.close();
  return 0;
}

async function parseArgs(args: string[]): Promise<KmsServerOptions | "help"> {
  const o: KmsServerOptions = {};
  const faults: NonNullable<KmsServerOptions["faults"]> = {};
  let quotaBurst: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === "-h" || flag === "--help") return "help";
    const eq = flag.indexOf("=");
    const name = eq > 0 ? flag.slice(0, eq) : flag;
    const value = (): string => {
      const v = eq > 0 ? flag.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case "--host":
        o.hostname = value();
        break;
      case "--allow-remote":
        if (eq > 0) throw new UsageError("--allow-remote takes no value");
        o.allowRemote = true;
        break;
      case "--allowed-host":
        o.allowedHosts = [...(o.allowedHosts ?? []), value()];
        break;
      case "--port":
        o.port = integer(name, value(), 0, 65535);
        break;
      case "--state":
        o.statePath = value();
        break;
      case "--policy":
        o.policy = await readPolicy(value());
        break;
      case "--region": {
        const r = value();
        if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(r)) {
          throw new UsageError(`bad region ${JSON.stringify(r)}`);
        }
        o.region = r;
        break;
      }
      case "--account": {
        const a = value();
        if (!/^\d{12}$/.test(a)) throw new UsageError(`--account must be 12 digits`);
        o.account = a;
        break;
      }
      case "--latency":
        faults.latencyMs = integer(name, value(), 0, 600_000);
        break;
      case "--throttle-rate":
        faults.throttleRate = rate(name, value());
        break;
      case "--error-rate":
        faults.errorRate = rate(name, value());
        break;
      case "--seed":
        o.seed = integer(name, value(), 0, 2 ** 32 - 1);
        break;
      case "--quota-rps":
        o.quota = { ...o.quota, requestsPerSecond: integer(name, value(), 1, 10_000_000) };
        break;
      case "--quota-burst":
        quotaBurst = integer(name, value(), 1, 10_000_000);
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(flag)}`);
    }
  }
  if (quotaBurst !== undefined) {
    if (!o.quota) throw new UsageError("--quota-burst needs --quota-rps");
    o.quota.burst = quotaBurst;
  }
  o.faults = faults;
  return o;
}

function integer(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer in ${min}..${max}`);
  }
  return n;
}

function rate(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(`${name} must be a number in 0..1`);
  }
  return n;
}

async function readPolicy(path: string): Promise<KmsPolicy> {
  let text: string | undefined;
  try {
    text = fromUtf8(await readFileBytes(path));
  } catch (err) {
    throw new UsageError(`cannot read --policy ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  let policy: unknown;
  try {
    policy = JSON.parse(text ?? "");
  } catch {
    throw new UsageError(`--policy ${JSON.stringify(path)} is not valid JSON`);
  }
  if (!isPolicy(policy)) {
    throw new UsageError(
      `--policy ${JSON.stringify(path)} must map access key ids to {"<key ref or *>": ["Op", ...]}`,
    );
  }
  return policy;
}

function isPolicy(v: unknown): v is KmsPolicy {
  const isObj = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObj(v)) return false;
  return Object.values(v).every((grants) =>
    isObj(grants) &&
    Object.values(grants).every((ops) =>
      Array.isArray(ops) && ops.every((op) => typeof op === "string")
    )
  );
}
