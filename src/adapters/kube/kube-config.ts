/**
 * How the worker reaches the API server: the kubeconfig's current context, or the in-cluster
 * service account, turned into what each request needs (an agent with the TLS settings, and the
 * Authorization header). The usual kubeconfigs (token, token file, client certificate, CA,
 * insecure-skip-tls-verify, tls-server-name) and the in-cluster account are handled here, without
 * @kubernetes/client-node: any value import of it loads its 2,700 generated classes (about 40 MB
 * of RSS). A kubeconfig that asks for more (exec credential plugins, auth-provider,
 * username/password, impersonation, proxy-url, several files in KUBECONFIG) is handed to
 * client-node's KubeConfig, imported on the first request, so it works as it always did.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { isIPv6 } from "node:net";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { KubeError } from "./kube-error.ts";

const SERVICE_ACCOUNT_ROOT = "/var/run/secrets/kubernetes.io/serviceaccount";
const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_ROOT}/token`;
const SERVICE_ACCOUNT_CA = `${SERVICE_ACCOUNT_ROOT}/ca.crt`;
/**
 * A token file is read again once the copy in hand is older than this: bound service-account
 * tokens rotate (the kubelet rewrites the file). client-node's FileAuth and client-go's cached
 * file token source both read it again after a minute.
 */
export const TOKEN_FILE_MAX_AGE_MS = 60_000;

/** The API server of the current context, as a kubeconfig names it (the deployer's kubeconfig points at the same). */
export interface ClusterEndpoint {
  /** Without a trailing slash. */
  server: string;
  /** Base64 PEM (certificate-authority-data). */
  caData?: string;
  /** Absolute path (certificate-authority). */
  caFile?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
}

/** What every request carries: `agent` (TLS or proxy), `headers` (Authorization), and for the fallback whatever else client-node sets. */
interface KubeRequestOptions extends Omit<https.RequestOptions, "headers"> {
  headers: Record<string, string>;
}

/** Where and how to send requests to the API server. */
export interface KubeConnection {
  readonly cluster: ClusterEndpoint;
  /** Who authenticates the requests: "native" (this module) or "client-node" (the fallback, loaded on first use). */
  readonly via: "native" | "client-node";
  /**
   * The options every request carries: `agent` (TLS or proxy), `headers` (Authorization), and
   * for the fallback whatever else client-node sets. A fresh object each time (the caller adds
   * to it). Reads a token file again when its copy is a minute old.
   */
  requestOptions(): Promise<KubeRequestOptions>;
  /**
   * Resolves once the connection can authenticate: at once when native; the fallback loads
   * client-node and the kubeconfig into it (start-up calls this, so a kubeconfig client-node
   * cannot read stops the worker with a clear error instead of failing every request).
   */
  ready(): Promise<void>;
}

export interface LoadKubeConfigOptions {
  /** Environment to read KUBERNETES_SERVICE_HOST/PORT from (defaults to process.env). */
  env?: Record<string, string | undefined>;
  /** Checks that a file exists (injectable for tests). */
  fileExists?: (path: string) => boolean;
  /** Reads a file (token, CA, client certificate and key; injectable for tests). */
  readFile?: (path: string) => Buffer;
  /** Clock for the token file's age, in ms (injectable for tests). */
  now?: () => number;
  /** A file's modification time in ms, to notice a rotated CA, certificate or key (injectable for tests). */
  mtimeMs?: (path: string) => number;
}

interface Io {
  readFile: (path: string) => Buffer;
  mtimeMs: (path: string) => number;
  now: () => number;
}

type Raw = Record<string, unknown>;
interface RawConfig {
  clusters: { name: string; body: Raw }[];
  users: { name: string; body: Raw }[];
  contexts: { name: string; body: Raw }[];
  currentContext: string | undefined;
}

/** User fields client-node understands and this module does not: such a kubeconfig goes to client-node. */
const FALLBACK_USER_FIELDS = ["exec", "auth-provider", "username", "password", "as"];
const FALLBACK_CLUSTER_FIELDS = ["proxy-url"];

const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

function named(list: unknown, key: string): { name: string; body: Raw }[] {
  if (!Array.isArray(list)) return [];
  const entries: { name: string; body: Raw }[] = [];
  for (const e of list as unknown[]) {
    if (typeof e !== "object" || e === null || typeof (e as Raw).name !== "string") continue;
    const body = (e as Raw)[key];
    entries.push({ name: (e as { name: string }).name, body: typeof body === "object" && body !== null ? (body as Raw) : {} });
  }
  return entries;
}

function readRaw(text: string): RawConfig {
  const doc: unknown = parse(text);
  const obj = (typeof doc === "object" && doc !== null ? doc : {}) as Raw;
  return {
    clusters: named(obj.clusters, "cluster"),
    users: named(obj.users, "user"),
    contexts: named(obj.contexts, "context"),
    currentContext: str(obj["current-context"]),
  };
}

/** Relative file paths of a kubeconfig are relative to its directory (as kubectl and client-node read them). */
function absolute(dir: string | undefined, file: unknown): unknown {
  return typeof file === "string" && file !== "" && dir && !isAbsolute(file) ? join(dir, file) : file;
}

function withAbsolutePaths(raw: RawConfig, dir: string | undefined): RawConfig {
  return {
    ...raw,
    clusters: raw.clusters.map((c) => ({ ...c, body: { ...c.body, "certificate-authority": absolute(dir, c.body["certificate-authority"]) } })),
    users: raw.users.map((u) => ({
      ...u,
      body: {
        ...u.body,
        "client-certificate": absolute(dir, u.body["client-certificate"]),
        "client-key": absolute(dir, u.body["client-key"]),
        tokenFile: absolute(dir, u.body.tokenFile),
        "token-file": absolute(dir, u.body["token-file"]),
      },
    })),
  };
}

/**
 * As kubectl and helm merge the files of KUBECONFIG (client-go's loading rules): the first file to
 * set current-context wins, and of two entries with one name the first file's is kept. (helm gets
 * the same KUBECONFIG: both must act on the same cluster.)
 */
function merge(configs: RawConfig[]): RawConfig {
  const merged: RawConfig = { clusters: [], users: [], contexts: [], currentContext: undefined };
  for (const config of configs) {
    merged.currentContext ??= config.currentContext;
    for (const key of ["clusters", "users", "contexts"] as const) {
      for (const entry of config[key]) if (!merged[key].some((e) => e.name === entry.name)) merged[key].push(entry);
    }
  }
  return merged;
}

/** The merged configuration as one kubeconfig document (for client-node, when the fallback needs it). */
function toKubeconfigText(raw: RawConfig): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: raw.clusters.map((c) => ({ name: c.name, cluster: c.body })),
    users: raw.users.map((u) => ({ name: u.name, user: u.body })),
    contexts: raw.contexts.map((c) => ({ name: c.name, context: c.body })),
    ...(raw.currentContext ? { "current-context": raw.currentContext } : {}),
  });
}

function endpoint(cluster: Raw): ClusterEndpoint | undefined {
  const server = str(cluster.server);
  if (!server) return undefined;
  const caData = str(cluster["certificate-authority-data"]);
  const caFile = str(cluster["certificate-authority"]);
  const tlsServerName = str(cluster["tls-server-name"]);
  return {
    server: server.replace(/\/+$/, ""),
    ...(caData ? { caData } : {}),
    ...(caFile ? { caFile } : {}),
    skipTLSVerify: cluster["insecure-skip-tls-verify"] === true,
    ...(tlsServerName ? { tlsServerName } : {}),
  };
}

interface NativeUser {
  token?: string;
  tokenFile?: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
}

function nativeUser(user: Raw): NativeUser {
  const fields: [keyof NativeUser, unknown][] = [
    ["token", user.token],
    ["tokenFile", user.tokenFile ?? user["token-file"]],
    ["certData", user["client-certificate-data"]],
    ["certFile", user["client-certificate"]],
    ["keyData", user["client-key-data"]],
    ["keyFile", user["client-key"]],
  ];
  return Object.fromEntries(fields.filter(([, v]) => str(v) !== undefined).map(([k, v]) => [k, str(v)]));
}

/** `file` read, else `data` decoded (base64), as client-node's bufferFromFileOrString. */
function material(io: Io, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return io.readFile(file);
  if (data) return Buffer.from(data, "base64");
  return undefined;
}

function plainHttpRefused(server: string): string {
  return `the API server ${server} is plain HTTP: set insecure-skip-tls-verify: true on its cluster to allow that (client-node refuses it otherwise)`;
}

/**
 * A connection this module authenticates: one keep-alive agent with the TLS settings, a token read
 * again when it is a minute old, and the agent made again when a CA, certificate or key file has
 * changed (checked once a minute: a cluster CA rotated, a certificate renewed by cert-manager or a
 * Vault agent). The old agent's connections (watches) end by themselves; it is closed 5 minutes later.
 */
function nativeConnection(cluster: ClusterEndpoint, user: NativeUser, io: Io): KubeConnection {
  let agent: http.Agent | undefined = undefined;
  let fileToken: { value: string; readAt: number } | undefined = undefined;
  const tlsFiles = [cluster.caFile, user.certFile, user.keyFile].filter((f): f is string => f !== undefined);
  let tlsFilesSeen: { stamp: string; at: number } | undefined = undefined;
  const stampOf = (): string =>
    tlsFiles
      .map((f) => {
        try {
          return String(io.mtimeMs(f));
        } catch {
          return "?";
        }
      })
      .join(",");

  function currentAgent(): http.Agent {
    const now = io.now();
    if (agent && tlsFiles.length > 0 && tlsFilesSeen && now - tlsFilesSeen.at > TOKEN_FILE_MAX_AGE_MS) {
      const stamp = stampOf();
      if (stamp !== tlsFilesSeen.stamp) {
        const old = agent;
        setTimeout(() => old.destroy(), 300_000).unref();
        agent = undefined;
      }
      tlsFilesSeen = { stamp, at: now };
    }
    if (!agent) {
      tlsFilesSeen = { stamp: stampOf(), at: now };
      agent = makeAgent();
    }
    return agent;
  }

  function makeAgent(): http.Agent {
    if (cluster.server.startsWith("http:")) {
      if (!cluster.skipTLSVerify) throw new KubeError("failed", plainHttpRefused(cluster.server));
      return new http.Agent({ keepAlive: true });
    }
    const ca = material(io, cluster.caFile, cluster.caData);
    const cert = material(io, user.certFile, user.certData);
    const key = material(io, user.keyFile, user.keyData);
    return new https.Agent({
      keepAlive: true,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      // Only when asked: otherwise Node's default (and NODE_TLS_REJECT_UNAUTHORIZED) applies, as with client-node.
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
      ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    });
  }

  function token(): string | undefined {
    if (user.token) return user.token;
    if (!user.tokenFile) return undefined;
    const now = io.now();
    if (!fileToken || now - fileToken.readAt > TOKEN_FILE_MAX_AGE_MS) fileToken = { value: io.readFile(user.tokenFile).toString("utf8").trim(), readAt: now };
    return fileToken.value;
  }

  return {
    cluster,
    via: "native",
    ready: () => Promise.resolve(),
    requestOptions() {
      try {
        const agent = currentAgent();
        const bearer = token();
        const headers: Record<string, string> = {};
        if (bearer) headers.Authorization = `Bearer ${bearer}`;
        return Promise.resolve({ agent, headers });
      } catch (err) {
        return Promise.reject(err instanceof KubeError ? err : new KubeError("failed", `Kubernetes credentials could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      }
    },
  };
}

/** A connection client-node's KubeConfig authenticates (imported, and `load`ed, on the first request or by ready()). */
function clientNodeConnection(cluster: ClusterEndpoint, source: string, load: (kc: KubeConfig) => void): KubeConnection {
  let loaded: Promise<KubeConfig> | undefined = undefined;
  const kubeConfig = (): Promise<KubeConfig> => {
    loaded ??= import("@kubernetes/client-node").then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      try {
        load(kc);
      } catch (err) {
        throw new KubeError("failed", `${source} could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      return kc;
    });
    loaded.catch(() => (loaded = undefined)); // a file that could not be read is read again next time
    return loaded;
  };
  return {
    cluster,
    via: "client-node",
    async requestOptions() {
      const opts: KubeRequestOptions = { headers: {} };
      await (await kubeConfig()).applyToHTTPSOptions(opts);
      return opts;
    },
    ready: async () => void (await kubeConfig()),
  };
}

function needsClientNode(cluster: Raw, user: Raw): boolean {
  return FALLBACK_USER_FIELDS.some((f) => user[f] !== undefined && user[f] !== null) || FALLBACK_CLUSTER_FIELDS.some((f) => str(cluster[f]) !== undefined);
}

/**
 * The connection of a kubeconfig's current context. `source` names it in errors; `load` loads the
 * same kubeconfig into client-node's KubeConfig, for the fallback.
 */
function connectionOf(raw: RawConfig, source: string, io: Io, load: (kc: KubeConfig) => void): KubeConnection {
  const context = raw.contexts.find((c) => c.name === raw.currentContext)?.body;
  const clusterName = context ? str(context.cluster) : undefined;
  const clusterEntry = clusterName ? raw.clusters.find((c) => c.name === clusterName) : undefined;
  const cluster = clusterEntry ? endpoint(clusterEntry.body) : undefined;
  if (!clusterEntry || !cluster) {
    const why = !raw.currentContext
      ? "current-context is not set"
      : !context
        ? `there is no context named ${raw.currentContext}`
        : !clusterEntry
          ? `context ${raw.currentContext} names cluster ${clusterName ?? "(none)"}, which is not there`
          : `cluster ${clusterEntry.name} has no server`;
    throw new KubeError("failed", `${source} has no current context with a cluster (${why}): set current-context (kubectl config use-context NAME)`);
  }
  const user = raw.users.find((u) => u.name === context?.user)?.body ?? {};
  if (needsClientNode(clusterEntry.body, user)) return clientNodeConnection(cluster, source, load);
  if (cluster.server.startsWith("http:") && !cluster.skipTLSVerify) throw new KubeError("failed", `${source}: ${plainHttpRefused(cluster.server)}`);
  return nativeConnection(cluster, nativeUser(user), io);
}

/** A kubeconfig given as text (a staging deployer's, made by staging-access.ts). Relative paths in it are relative to the current directory. */
export function kubeConnectionFromString(text: string, options: Pick<LoadKubeConfigOptions, "readFile" | "now" | "mtimeMs"> = {}): KubeConnection {
  const io: Io = { readFile: options.readFile ?? readFileSync, now: options.now ?? Date.now, mtimeMs: options.mtimeMs ?? ((path) => statSync(path).mtimeMs) };
  let raw: RawConfig;
  try {
    raw = readRaw(text);
  } catch (err) {
    throw new KubeError("failed", `kubeconfig could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return connectionOf(raw, "the kubeconfig", io, (kc) => kc.loadFromString(text));
}

function loadFiles(files: string[], source: string, io: Io, fileExists: (path: string) => boolean): KubeConnection {
  for (const file of files) {
    if (!fileExists(file)) {
      throw new KubeError("failed", `kubeconfig file ${file} does not exist: set KUBECONFIG to a readable kubeconfig file, or unset it to use the in-cluster service account`);
    }
  }
  let raw: RawConfig;
  try {
    raw = merge(files.map((file) => withAbsolutePaths(readRaw(io.readFile(file).toString("utf8")), dirname(file))));
  } catch (err) {
    throw new KubeError("failed", `${source} could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // The fallback reads the one file as it is, or several merged here as kubectl merges them
  // (client-node's own merge lets a later file win, and refuses a name twice).
  const load = (kc: KubeConfig): void => (files.length === 1 ? kc.loadFromFile(files[0]!) : kc.loadFromString(toKubeconfigText(raw)));
  return connectionOf(raw, source, io, load);
}

/**
 * Loads the Kubernetes connection: the kubeconfig file when a path is given (the KUBECONFIG
 * setting; several files separated by ':' are merged as kubectl merges them), otherwise the
 * in-cluster service account. Throws a KubeError (code "failed") that says what to configure.
 */
export function loadKubeConfig(kubeconfigPath?: string, options: LoadKubeConfigOptions = {}): KubeConnection {
  const env = options.env ?? process.env;
  const fileExists = options.fileExists ?? existsSync;
  const io: Io = { readFile: options.readFile ?? readFileSync, now: options.now ?? Date.now, mtimeMs: options.mtimeMs ?? ((path) => statSync(path).mtimeMs) };
  if (kubeconfigPath) {
    const files = !fileExists(kubeconfigPath) && kubeconfigPath.includes(delimiter) ? kubeconfigPath.split(delimiter).filter(Boolean) : [kubeconfigPath];
    return loadFiles(files, `kubeconfig file ${kubeconfigPath}`, io, fileExists);
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port && fileExists(SERVICE_ACCOUNT_TOKEN)) {
    // As client-node's loadFromCluster: plain HTTP on the usual proxy ports, an IPv6 address in brackets.
    const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
    const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    return nativeConnection({ server, caFile: SERVICE_ACCOUNT_CA, skipTLSVerify: false }, { tokenFile: SERVICE_ACCOUNT_TOKEN }, io);
  }
  throw new KubeError(
    "failed",
    "No Kubernetes configuration found: set KUBECONFIG to a kubeconfig file, or run Octostage inside the cluster " +
      `with a service account (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT set and ${SERVICE_ACCOUNT_TOKEN} mounted)`,
  );
}
