// The kubeconfig loader without client-node (kube-config.ts): token, token files (read again
// once a minute, as client-node and client-go do), client certificates and CAs as data or files,
// insecure-skip-tls-verify and tls-server-name, against a real TLS server that echoes who called;
// clear errors; and which kubeconfigs go to client-node's KubeConfig instead.
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { TLSSocket } from "node:tls";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeConnectionFromString, loadKubeConfig, TOKEN_FILE_MAX_AGE_MS, type KubeConnection } from "../../src/adapters/kube/kube-config.ts";
import { createKubeTransport } from "../../src/adapters/kube/kube-transport.ts";

// A CA, a server certificate for 127.0.0.1 and one for kubernetes.default.svc only, and a client
// certificate (CN=alice, O=dev) it signed; EC P-256, valid until 2126 (made with openssl).
const CA_CERT = `-----BEGIN CERTIFICATE-----
MIIBhjCCASugAwIBAgIUH5r/JtspdopFSqbzUjDGJYUnfcAwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMdGVzdC1rdWJlLWNhMCAXDTI2MTIwMjE3MTk0OVoYDzIxMjYx
MTA4MTcxOTQ5WjAXMRUwEwYDVQQDDAx0ZXN0LWt1YmUtY2EwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASl0bieyCJy8vS2+MojYZgB2aZbE6WJOSqRYirsDCh4z19v
bvNopZhOHBL7DeKz0YyD/SdkXFvGQ6DM3JWSaZjuo1MwUTAdBgNVHQ4EFgQUP9c9
8w80Xw0Z9debjXFClh7uO1swHwYDVR0jBBgwFoAUP9c98w80Xw0Z9debjXFClh7u
O1swDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAv2qI1K+/hHCx
DqLEXI6kPJMhUeKhNGH2ccQdo+esYn8CIQDO+2o8M5czowujk2sMgZbYOmLc++In
StjGwMtfGd0xQQ==
-----END CERTIFICATE-----
`;
const SERVER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeZ3PD1vgq9/jbUzD
WF9LE9/Hqzrekd2wKiGOHqhIVdKhRANCAAQn1dH6ZfCm2FWrZodtBPNgpHHzq9zz
MbnoeGvElchdYG1JeEZgooJ1OOxygQm+fhi83Nk8ZXuSsENT/d0NG5D5
-----END PRIVATE KEY-----
`;
const SERVER_IP_CERT = `-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUCfD52FB6f8H7W4/6GCAN5dqlPtcwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMdGVzdC1rdWJlLWNhMCAXDTI2MTIwMjE3MTk0OVoYDzIxMjYx
MTA4MTcxOTQ5WjAZMRcwFQYDVQQDDA5rdWJlLWFwaXNlcnZlcjBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABCfV0fpl8KbYVatmh20E82CkcfOr3PMxueh4a8SVyF1g
bUl4RmCignU47HKBCb5+GLzc2Txle5KwQ1P93Q0bkPmjUzBRMA8GA1UdEQQIMAaH
BH8AAAEwHQYDVR0OBBYEFOe7ODhH8Rhhgjt4ALLKeUj5UgDMMB8GA1UdIwQYMBaA
FD/XPfMPNF8NGfXXm41xQpYe7jtbMAoGCCqGSM49BAMCA0gAMEUCIQDPLXcahHYX
jH297QD/IRocRsHZxg7h8KLn60Eou3WrpgIgA+gKsgx9rawjpY1CQv1QMfEj/iui
OI5gWSG4qfNymoo=
-----END CERTIFICATE-----
`;
const SERVER_DNS_CERT = `-----BEGIN CERTIFICATE-----
MIIBmDCCAT+gAwIBAgIUCfD52FB6f8H7W4/6GCAN5dqlPtgwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMdGVzdC1rdWJlLWNhMCAXDTI2MTIwMjE3MTk0OVoYDzIxMjYx
MTA4MTcxOTQ5WjAZMRcwFQYDVQQDDA5rdWJlLWFwaXNlcnZlcjBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABCfV0fpl8KbYVatmh20E82CkcfOr3PMxueh4a8SVyF1g
bUl4RmCignU47HKBCb5+GLzc2Txle5KwQ1P93Q0bkPmjZTBjMCEGA1UdEQQaMBiC
Fmt1YmVybmV0ZXMuZGVmYXVsdC5zdmMwHQYDVR0OBBYEFOe7ODhH8Rhhgjt4ALLK
eUj5UgDMMB8GA1UdIwQYMBaAFD/XPfMPNF8NGfXXm41xQpYe7jtbMAoGCCqGSM49
BAMCA0cAMEQCIHnqnZq2o2jrdmVYzhIjg4cgpnebMG4L3foNNJdzvuOcAiAe4c4/
TGRQTLOrnUzyoc3GwNjoRBOUFC0MY24NSdkrDA==
-----END CERTIFICATE-----
`;
const CLIENT_CERT = `-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUCfD52FB6f8H7W4/6GCAN5dqlPtkwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMdGVzdC1rdWJlLWNhMCAXDTI2MTIwMjE3MTk0OVoYDzIxMjYx
MTA4MTcxOTQ5WjAeMQwwCgYDVQQKDANkZXYxDjAMBgNVBAMMBWFsaWNlMFkwEwYH
KoZIzj0CAQYIKoZIzj0DAQcDQgAEopfKSNZ32lTSNzLvYtdB+PkyS72qkYe22MNw
Xcn5x9Ej6sdaGDB+KM+I4ZlLL7q1ZlmEriTCnbxqn1FAxDi6sKNXMFUwEwYDVR0l
BAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFHv4yrtUTd9hkFzKDzBEWTgwB04lMB8G
A1UdIwQYMBaAFD/XPfMPNF8NGfXXm41xQpYe7jtbMAoGCCqGSM49BAMCA0cAMEQC
IAZcE80k1DTJRO1USv0JybX4uNooqvLu/Gtt4RTCNBX4AiAcwUX/qDpJa5Ne30mu
cKKnu1+Qnn23GpU/tzvZ28UAmQ==
-----END CERTIFICATE-----
`;
const CLIENT_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgltw3yhyBRFOdl92I
+U/nmvHv5wQVAj7GjZsAM2qGjpyhRANCAASil8pI1nfaVNI3Mu9i10H4+TJLvaqR
h7bYw3BdyfnH0SPqx1oYMH4oz4jhmUsvurVmWYSuJMKdvGqfUUDEOLqw
-----END PRIVATE KEY-----
`;

interface Whoami {
  authorization: string | null;
  clientCN: string | null;
  clientAuthorized: boolean;
}

/** An HTTPS server that answers every request with who called: bearer token and client certificate. */
async function whoamiServer(cert: string): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = createServer({ key: SERVER_KEY, cert, ca: CA_CERT, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    const answer: Whoami = { authorization: req.headers.authorization ?? null, clientCN: typeof peer.subject?.CN === "string" ? peer.subject.CN : null, clientAuthorized: socket.authorized };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");
const whoami = (connection: KubeConnection): Promise<Whoami> => createKubeTransport(connection).request<Whoami>({ method: "GET", path: "/whoami" });

function config(cluster: Record<string, unknown>, user: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    "current-context": "ctx",
  };
}

let dir: string;
let ipServer: Awaited<ReturnType<typeof whoamiServer>>;
let dnsServer: Awaited<ReturnType<typeof whoamiServer>>;
let files = 0;

/** Writes `content` under the test directory (in `sub`), returns its path. */
async function file(name: string, content: string, sub = ""): Promise<string> {
  await mkdir(join(dir, sub), { recursive: true });
  const path = join(dir, sub, name);
  await writeFile(path, content);
  return path;
}
const kubeconfigFile = (doc: Record<string, unknown>, sub = ""): Promise<string> => file(`kubeconfig-${++files}`, stringify(doc), sub);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kube-config-"));
  ipServer = await whoamiServer(SERVER_IP_CERT);
  dnsServer = await whoamiServer(SERVER_DNS_CERT);
});
afterAll(async () => {
  await ipServer.close();
  await dnsServer.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a kubeconfig file, without client-node", () => {
  it("authenticates with the user's token and trusts the cluster's CA given as data", async () => {
    const connection = loadKubeConfig(await kubeconfigFile(config({ server: `${ipServer.url}/`, "certificate-authority-data": b64(CA_CERT) }, { token: "token-1" })));
    expect(connection.via).toBe("native");
    expect(connection.cluster.server).toBe(ipServer.url);
    expect(await whoami(connection)).toEqual({ authorization: "Bearer token-1", clientCN: null, clientAuthorized: false });
  });

  it("refuses the server's certificate without the CA (nor insecure-skip-tls-verify)", async () => {
    const connection = loadKubeConfig(await kubeconfigFile(config({ server: ipServer.url }, { token: "token-1" })));
    await expect(whoami(connection)).rejects.toThrow(/self-signed|unable to (get|verify)/i);
  });

  it("reads the CA from a file, relative to the kubeconfig's directory", async () => {
    await file("ca.crt", CA_CERT, "ca-file");
    const path = await kubeconfigFile(config({ server: ipServer.url, "certificate-authority": "ca.crt" }, { token: "token-2" }), "ca-file");
    const connection = loadKubeConfig(path);
    expect(connection.cluster.caFile).toBe(join(dir, "ca-file", "ca.crt"));
    expect(await whoami(connection)).toMatchObject({ authorization: "Bearer token-2" });
  });

  it("notices a rotated CA file within a minute (the same check covers client certificate and key files)", async () => {
    // Not the CA yet: the server's own certificate, which cannot verify it.
    const ca = await file("ca.crt", SERVER_DNS_CERT, "ca-rotated");
    let now = 1_000_000;
    const connection = loadKubeConfig(await kubeconfigFile(config({ server: ipServer.url, "certificate-authority": "ca.crt" }, { token: "t" }), "ca-rotated"), { now: () => now });
    await expect(whoami(connection)).rejects.toThrow(/self-signed|unable to (get|verify)|certificate/i);
    await writeFile(ca, CA_CERT);
    await utimes(ca, new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));
    now += 30_000;
    await expect(whoami(connection)).rejects.toThrow(/self-signed|unable to (get|verify)|certificate/i);
    now += TOKEN_FILE_MAX_AGE_MS;
    expect(await whoami(connection)).toMatchObject({ authorization: "Bearer t" });
  });

  it("presents the user's client certificate and key, given as data", async () => {
    const connection = loadKubeConfig(await kubeconfigFile(config({ server: ipServer.url, "certificate-authority-data": b64(CA_CERT) }, { "client-certificate-data": b64(CLIENT_CERT), "client-key-data": b64(CLIENT_KEY) })));
    expect(await whoami(connection)).toEqual({ authorization: null, clientCN: "alice", clientAuthorized: true });
  });

  it("presents the user's client certificate and key, given as files relative to the kubeconfig", async () => {
    await file("alice.crt", CLIENT_CERT, "cert-files");
    await file("alice.key", CLIENT_KEY, "cert-files");
    const path = await kubeconfigFile(config({ server: ipServer.url, "certificate-authority-data": b64(CA_CERT) }, { "client-certificate": "alice.crt", "client-key": "alice.key" }), "cert-files");
    expect(await whoami(loadKubeConfig(path))).toEqual({ authorization: null, clientCN: "alice", clientAuthorized: true });
  });

  it("skips verifying the server's certificate only with insecure-skip-tls-verify", async () => {
    const connection = loadKubeConfig(await kubeconfigFile(config({ server: ipServer.url, "insecure-skip-tls-verify": true }, { token: "token-3" })));
    expect(await whoami(connection)).toMatchObject({ authorization: "Bearer token-3" });
  });

  it("checks the server's certificate against tls-server-name when set", async () => {
    const cluster = { server: dnsServer.url, "certificate-authority-data": b64(CA_CERT) };
    await expect(whoami(loadKubeConfig(await kubeconfigFile(config(cluster, { token: "t" }))))).rejects.toThrow(/kubernetes\.default\.svc|altnames/i);
    const named = loadKubeConfig(await kubeconfigFile(config({ ...cluster, "tls-server-name": "kubernetes.default.svc" }, { token: "t" })));
    expect(await whoami(named)).toMatchObject({ authorization: "Bearer t" });
  });

  it("reads a user's tokenFile, and again once the copy in hand is older than a minute", async () => {
    const tokenFile = await file("token", "file-token-1\n", "token-file");
    let now = 1_000_000;
    const connection = loadKubeConfig(await kubeconfigFile(config({ server: ipServer.url, "insecure-skip-tls-verify": true }, { tokenFile: "token" }), "token-file"), { now: () => now });
    expect((await whoami(connection)).authorization).toBe("Bearer file-token-1");
    await writeFile(tokenFile, "file-token-2");
    now += TOKEN_FILE_MAX_AGE_MS;
    expect((await whoami(connection)).authorization).toBe("Bearer file-token-1");
    now += 1;
    expect((await whoami(connection)).authorization).toBe("Bearer file-token-2");
  });

  it("says what to set when there is no current context with a cluster", async () => {
    const doc = config({ server: ipServer.url }, { token: "t" });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...doc, "current-context": undefined }, /current-context is not set/],
      [{ ...doc, "current-context": "elsewhere" }, /no context named elsewhere/],
      [{ ...doc, clusters: [] }, /names cluster c, which is not there/],
      [{ ...doc, clusters: [{ name: "c", cluster: {} }] }, /cluster c has no server/],
    ];
    for (const [broken, why] of cases) {
      const path = await kubeconfigFile(broken);
      const error = (() => {
        try {
          loadKubeConfig(path);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(error).toMatchObject({ name: "KubeError", code: "failed", message: expect.stringMatching(why) });
      expect((error as Error).message).toContain(`kubeconfig file ${path} has no current context with a cluster`);
      expect((error as Error).message).toContain("set current-context (kubectl config use-context NAME)");
    }
  });

  it("refuses a plain-HTTP server unless insecure-skip-tls-verify is set, as client-node does", async () => {
    expect(() => kubeConnectionFromString(stringify(config({ server: "http://127.0.0.1:1" }, { token: "t" })))).toThrow(expect.objectContaining({ code: "failed", message: expect.stringMatching(/plain HTTP: set insecure-skip-tls-verify: true/) }));
    expect(kubeConnectionFromString(stringify(config({ server: "http://127.0.0.1:1", "insecure-skip-tls-verify": true }, { token: "t" }))).via).toBe("native");
  });

  it("says which file is missing or unreadable", async () => {
    expect(() => loadKubeConfig(join(dir, "nope"))).toThrow(expect.objectContaining({ code: "failed", message: expect.stringMatching(/kubeconfig file .*nope does not exist: set KUBECONFIG/) }));
    expect(() => loadKubeConfig(`${join(dir, "nope-1")}${delimiter}${join(dir, "nope-2")}`)).toThrow(/kubeconfig file .*nope-1 does not exist/);
    const garbled = await file("garbled", "clusters: [\n");
    expect(() => loadKubeConfig(garbled)).toThrow(expect.objectContaining({ code: "failed", message: expect.stringContaining(`kubeconfig file ${garbled} could not be read:`) }));
  });
});

describe("which kubeconfigs go to client-node", () => {
  const cluster = { server: "https://kube.example:6443" };
  it.each([
    ["an exec credential plugin", cluster, { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws", args: ["eks", "get-token"] } }],
    ["an auth-provider", cluster, { "auth-provider": { name: "oidc", config: { "id-token": "x" } } }],
    ["username and password", cluster, { username: "admin", password: "secret" }],
    ["impersonation", cluster, { token: "t", as: "someone" }],
    ["a proxy", { ...cluster, "proxy-url": "http://proxy:3128" }, { token: "t" }],
  ])("%s", (_what, c, user) => {
    const connection = kubeConnectionFromString(stringify(config(c, user)));
    expect(connection.via).toBe("client-node");
    expect(connection.cluster.server).toBe(c.server);
  });

  it("several files in KUBECONFIG, merged as kubectl and helm merge them: the first current-context and the first entry of a name win", async () => {
    const first = await kubeconfigFile(config({ server: ipServer.url, "insecure-skip-tls-verify": true }, { token: "t" }));
    // Two kubeadm-style files name their entries alike; the second's must not replace the first's.
    const second = await kubeconfigFile({
      clusters: [{ name: "c", cluster: { server: "https://other:6443" } }, { name: "d", cluster: { server: "https://d:6443" } }],
      users: [{ name: "u", user: { token: "second" } }],
      contexts: [{ name: "other", context: { cluster: "d", user: "u" } }],
      "current-context": "other",
    });
    const connection = loadKubeConfig(`${first}${delimiter}${second}`);
    expect(connection.via).toBe("native");
    expect(connection.cluster.server).toBe(ipServer.url);
    expect(await whoami(connection)).toMatchObject({ authorization: "Bearer t" });
    // A file without current-context leaves the choice to the next one.
    const third = await kubeconfigFile({ clusters: [{ name: "e", cluster: { server: "https://e:6443" } }] });
    expect(loadKubeConfig(`${third}${delimiter}${second}`).cluster.server).toBe("https://d:6443");
  });

  it("several files whose context needs client-node: client-node gets the same merge", async () => {
    const first = await kubeconfigFile({ ...config({ server: ipServer.url, "insecure-skip-tls-verify": true }, { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "true" } }) });
    const second = await kubeconfigFile({ clusters: [{ name: "c", cluster: { server: "https://other:6443" } }], "current-context": "other" });
    const connection = loadKubeConfig(`${first}${delimiter}${second}`);
    expect(connection.via).toBe("client-node");
    expect(connection.cluster.server).toBe(ipServer.url);
  });

  it("a kubeconfig for client-node that client-node cannot read fails ready() (start-up) with the reason, not every request later", async () => {
    const exec = { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "true" } };
    const broken = { ...config(cluster, exec), clusters: [{ name: "c", cluster }, { name: "no-server", cluster: {} }] };
    const connection = kubeConnectionFromString(stringify(broken));
    expect(connection.via).toBe("client-node");
    await expect(connection.ready()).rejects.toMatchObject({ code: "failed", message: expect.stringMatching(/^the kubeconfig could not be read: .*server/) as unknown });
    await expect(kubeConnectionFromString(stringify(config(cluster, exec))).ready()).resolves.toBeUndefined();
  });

  it("keeps the token, certificate and CA kinds native", () => {
    expect(kubeConnectionFromString(stringify(config(cluster, { token: "t", "client-certificate-data": "x", "client-key-data": "y" }))).via).toBe("native");
  });
});

describe("the in-cluster service account", () => {
  const TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  const CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

  it("talks to KUBERNETES_SERVICE_HOST:PORT over TLS with the mounted CA, and reads the rotating token again once a minute", async () => {
    const mounted: Record<string, string> = { [TOKEN]: "sa-token-1", [CA]: CA_CERT };
    const reads: string[] = [];
    let now = 5_000_000;
    const connection = loadKubeConfig(undefined, {
      env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(ipServer.port) },
      fileExists: (path) => path in mounted,
      readFile: (path) => {
        reads.push(path);
        if (!(path in mounted)) throw new Error(`ENOENT: ${path}`);
        return Buffer.from(mounted[path]!);
      },
      now: () => now,
    });
    expect(connection.cluster).toEqual({ server: ipServer.url, caFile: CA, skipTLSVerify: false });
    expect(await whoami(connection)).toMatchObject({ authorization: "Bearer sa-token-1" });
    // The kubelet rotates the token: the next minute's requests carry the new one.
    mounted[TOKEN] = "sa-token-2\n";
    now += 30_000;
    expect((await whoami(connection)).authorization).toBe("Bearer sa-token-1");
    now += TOKEN_FILE_MAX_AGE_MS - 30_000;
    expect((await whoami(connection)).authorization).toBe("Bearer sa-token-1");
    now += 1;
    expect((await whoami(connection)).authorization).toBe("Bearer sa-token-2");
    expect((await whoami(connection)).authorization).toBe("Bearer sa-token-2");
    expect(reads.filter((p) => p === TOKEN)).toHaveLength(2);
    expect(reads.filter((p) => p === CA)).toHaveLength(1);
  });

  it("uses plain HTTP on the proxy ports and brackets an IPv6 host, as client-node does", () => {
    const at = (host: string, port: string): string => loadKubeConfig(undefined, { env: { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port }, fileExists: () => true }).cluster.server;
    expect(at("10.0.0.1", "443")).toBe("https://10.0.0.1:443");
    expect(at("fd00::1", "443")).toBe("https://[fd00::1]:443");
    expect(at("10.0.0.1", "8080")).toBe("http://10.0.0.1:8080");
  });

  it("fails a request, with what went wrong, when the token cannot be read", async () => {
    const connection = loadKubeConfig(undefined, { env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(ipServer.port) }, fileExists: () => true, readFile: (path) => {
      if (path === CA) return Buffer.from(CA_CERT);
      throw new Error(`EACCES: permission denied, open '${path}'`);
    } });
    await expect(whoami(connection)).rejects.toMatchObject({ code: "failed", message: expect.stringContaining("EACCES") });
  });
});
