/**
 * Pod Security admission as the built-in plugin (k8s.io/pod-security-admission) applies it, for
 * the checks listed below, with its messages word for word. Checks run in the plugin's order
 * (its check files sorted by name, baseline first, then restricted); a restricted check that
 * overrides a baseline one replaces it.
 *
 * Baseline: non-default capabilities, host namespaces, hostPath volumes, hostPort, privileged,
 * seccompProfile Unconfined. Restricted adds: allowPrivilegeEscalation != false, unrestricted
 * capabilities (drop ALL, add only NET_BIND_SERVICE), restricted volume types, runAsNonRoot != true,
 * runAsUser=0, seccompProfile RuntimeDefault/Localhost.
 * Not checked: AppArmor, SELinux options, /proc mount type, sysctls, Windows hostProcess, the
 * seccomp annotations, the pod.spec.os exemptions, exemptions by user/namespace/runtime class.
 */
import { joinQuote } from "./types.ts";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";
export interface LevelVersion { level: PodSecurityLevel; version: string }
export interface NamespacePodSecurity { enforce: LevelVersion; warn: LevelVersion }

const LEVELS: PodSecurityLevel[] = ["privileged", "baseline", "restricted"];
const LABEL = "pod-security.kubernetes.io";

/** An invalid level label counts as restricted, as the plugin does; an invalid version as latest. */
function parseLevel(value: unknown): PodSecurityLevel {
  return LEVELS.includes(value as PodSecurityLevel) ? (value as PodSecurityLevel) : "restricted";
}
function parseVersion(value: unknown): string {
  return typeof value === "string" && /^v1\.\d+$/.test(value) ? value : "latest";
}

/** api.PolicyToEvaluate: enforce from the labels; warn defaults to enforce when enforce is stricter. */
export function namespacePodSecurity(labels: Record<string, string> | undefined): NamespacePodSecurity {
  const l = labels ?? {};
  const enforce: LevelVersion = { level: l[`${LABEL}/enforce`] === undefined ? "privileged" : parseLevel(l[`${LABEL}/enforce`]), version: parseVersion(l[`${LABEL}/enforce-version`]) };
  let warn: LevelVersion = { level: l[`${LABEL}/warn`] === undefined ? "privileged" : parseLevel(l[`${LABEL}/warn`]), version: parseVersion(l[`${LABEL}/warn-version`]) };
  if (l[`${LABEL}/warn`] === undefined && l[`${LABEL}/enforce`] !== undefined && LEVELS.indexOf(enforce.level) > LEVELS.indexOf(warn.level)) {
    warn = { level: enforce.level, version: l[`${LABEL}/warn-version`] === undefined ? enforce.version : warn.version };
  }
  return { enforce, warn };
}

export const levelString = (lv: LevelVersion): string => `${lv.level}:${lv.version}`;

const plural = (one: string, many: string, n: number): string => (n === 1 ? one : many);
const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

interface Container { name: string; securityContext?: any; ports?: any[] }
function containersOf(spec: any): Container[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])] as Container[];
}

type Check = (spec: any) => string | undefined;
const BASELINE_CAPABILITIES = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const RESTRICTED_VOLUME_TYPES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

const capabilitiesBaseline: Check = (spec) => {
  const bad: string[] = [];
  const caps: string[] = [];
  for (const c of containersOf(spec)) {
    const added: string[] = c.securityContext?.capabilities?.add ?? [];
    const extra = added.filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (extra.length) {
      bad.push(c.name);
      caps.push(...extra);
    }
  }
  if (!bad.length) return undefined;
  return `non-default capabilities (${plural("container", "containers", bad.length)} ${joinQuote(bad)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add)`;
};

const hostNamespaces: Check = (spec) => {
  const set = [spec?.hostNetwork === true && "hostNetwork=true", spec?.hostPID === true && "hostPID=true", spec?.hostIPC === true && "hostIPC=true"].filter(Boolean);
  return set.length ? `host namespaces (${set.join(", ")})` : undefined;
};

const hostPathVolumes: Check = (spec) => {
  const bad = ((spec?.volumes ?? []) as any[]).filter((v) => v.hostPath !== undefined).map((v) => String(v.name));
  return bad.length ? `hostPath volumes (${plural("volume", "volumes", bad.length)} ${joinQuote(bad)})` : undefined;
};

const hostPorts: Check = (spec) => {
  const bad: string[] = [];
  const ports: string[] = [];
  for (const c of containersOf(spec)) {
    const used = (c.ports ?? []).map((p: any) => Number(p.hostPort ?? 0)).filter((p: number) => p !== 0);
    if (used.length) {
      bad.push(c.name);
      ports.push(...used.map(String));
    }
  }
  if (!bad.length) return undefined;
  const list = sorted(ports);
  return `hostPort (${plural("container", "containers", bad.length)} ${joinQuote(bad)} ${plural("uses", "use", bad.length)} ${plural("hostPort", "hostPorts", list.length)} ${list.join(", ")})`;
};

const privileged: Check = (spec) => {
  const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  return bad.length ? `privileged (${plural("container", "containers", bad.length)} ${joinQuote(bad)} must not set securityContext.privileged=true)` : undefined;
};

/** Shared shape of the runAsNonRoot and seccomp checks: "pod" and containers that set a bad value. */
function badSetters(podBad: boolean, containers: string[]): string[] {
  return [...(podBad ? ["pod"] : []), ...(containers.length ? [`${plural("container", "containers", containers.length)} ${joinQuote(containers)}`] : [])];
}

const seccompBaseline: Check = (spec) => {
  const podBad = spec?.securityContext?.seccompProfile?.type === "Unconfined";
  const bad = containersOf(spec).filter((c) => c.securityContext?.seccompProfile?.type === "Unconfined").map((c) => c.name);
  const setters = badSetters(podBad, bad);
  return setters.length ? `seccompProfile (${setters.join(" and ")} must not set securityContext.seccompProfile.type to "Unconfined")` : undefined;
};

const allowPrivilegeEscalation: Check = (spec) => {
  const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
  return bad.length ? `allowPrivilegeEscalation != false (${plural("container", "containers", bad.length)} ${joinQuote(bad)} must set securityContext.allowPrivilegeEscalation=false)` : undefined;
};

const capabilitiesRestricted: Check = (spec) => {
  const missingDrop: string[] = [];
  const adding: string[] = [];
  const caps: string[] = [];
  for (const c of containersOf(spec)) {
    const capabilities = c.securityContext?.capabilities;
    if (!capabilities) {
      missingDrop.push(c.name);
      continue;
    }
    if (!((capabilities.drop ?? []) as string[]).includes("ALL")) missingDrop.push(c.name);
    const extra = ((capabilities.add ?? []) as string[]).filter((cap) => cap !== "NET_BIND_SERVICE");
    if (extra.length) {
      adding.push(c.name);
      caps.push(...extra);
    }
  }
  const details = [
    ...(missingDrop.length ? [`${plural("container", "containers", missingDrop.length)} ${joinQuote(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`] : []),
    ...(adding.length ? [`${plural("container", "containers", adding.length)} ${joinQuote(adding)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add`] : []),
  ];
  return details.length ? `unrestricted capabilities (${details.join("; ")})` : undefined;
};

const restrictedVolumes: Check = (spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const v of (spec?.volumes ?? []) as any[]) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (type && !RESTRICTED_VOLUME_TYPES.has(type)) {
      bad.push(String(v.name));
      types.push(type);
    }
  }
  if (!bad.length) return undefined;
  const list = sorted(types);
  return `restricted volume types (${plural("volume", "volumes", bad.length)} ${joinQuote(bad)} ${plural("uses", "use", bad.length)} ${plural("restricted volume type", "restricted volume types", list.length)} ${joinQuote(list)})`;
};

const runAsNonRoot: Check = (spec) => {
  const podValue: unknown = spec?.securityContext?.runAsNonRoot;
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  for (const c of containersOf(spec)) {
    const value: unknown = c.securityContext?.runAsNonRoot;
    if (value === false) explicitlyBad.push(c.name);
    else if (value === undefined && podValue !== true) implicitlyBad.push(c.name);
  }
  const setters = badSetters(podValue === false, explicitlyBad);
  if (setters.length) return `runAsNonRoot != true (${setters.join(" and ")} must not set securityContext.runAsNonRoot=false)`;
  if (implicitlyBad.length) return `runAsNonRoot != true (pod or ${plural("container", "containers", implicitlyBad.length)} ${joinQuote(implicitlyBad)} must set securityContext.runAsNonRoot=true)`;
  return undefined;
};

const runAsUser: Check = (spec) => {
  const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name);
  const setters = badSetters(spec?.securityContext?.runAsUser === 0, bad);
  return setters.length ? `runAsUser=0 (${setters.join(" and ")} must not set securityContext.runAsUser=0)` : undefined;
};

const seccompRestricted: Check = (spec) => {
  const valid = (type: unknown): boolean => type === "RuntimeDefault" || type === "Localhost";
  const podProfile = spec?.securityContext?.seccompProfile;
  const values: string[] = [];
  const podBad = podProfile !== undefined && !valid(podProfile.type);
  if (podBad) values.push(String(podProfile.type));
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  for (const c of containersOf(spec)) {
    const profile = c.securityContext?.seccompProfile;
    if (profile !== undefined) {
      if (!valid(profile.type)) {
        explicitlyBad.push(c.name);
        values.push(String(profile.type));
      }
    } else if (podProfile === undefined || podBad) implicitlyBad.push(c.name);
  }
  const setters = badSetters(podBad, explicitlyBad);
  if (setters.length) return `seccompProfile (${setters.join(" and ")} must not set securityContext.seccompProfile.type to ${joinQuote(sorted(values))})`;
  if (implicitlyBad.length) return `seccompProfile (pod or ${plural("container", "containers", implicitlyBad.length)} ${joinQuote(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`;
  return undefined;
};

const BASELINE: Check[] = [capabilitiesBaseline, hostNamespaces, hostPathVolumes, hostPorts, privileged, seccompBaseline];
const RESTRICTED: Check[] = [hostNamespaces, hostPathVolumes, hostPorts, privileged, allowPrivilegeEscalation, capabilitiesRestricted, restrictedVolumes, runAsNonRoot, runAsUser, seccompRestricted];

/** The violations of a pod spec at a level, each as "reason (detail)", in the plugin's order. */
export function podSecurityViolations(level: PodSecurityLevel, podSpec: unknown): string[] {
  if (level === "privileged") return [];
  return (level === "baseline" ? BASELINE : RESTRICTED).map((check) => check(podSpec)).filter((v): v is string => v !== undefined);
}

/** `violates PodSecurity "baseline:latest": privileged (...), hostPath volumes (...)` */
export const violatesMessage = (lv: LevelVersion, violations: string[]): string => `violates PodSecurity "${levelString(lv)}": ${violations.join(", ")}`;
export const wouldViolateMessage = (lv: LevelVersion, violations: string[]): string => `would violate PodSecurity "${levelString(lv)}": ${violations.join(", ")}`;

/** An HTTP Warning header value as the API server writes it: 299 - "<text with \" and \\ escaped>". */
export const warningHeader = (text: string): string => `299 - "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
