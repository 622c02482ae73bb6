/**
 * Why a pod is unhealthy, in words a developer can act on. Pure: takes what the informer
 * cache holds about a pod and names the first problem it finds, most specific first.
 *
 *   CrashLoopBackOff in api-7f9c (exit 1, 5 restarts)
 *   OOMKilled in api-7f9c (container api, 3 restarts)
 *   ImagePullBackOff: image ghcr.io/acme/web:1a2b3c not found
 *   Unschedulable: insufficient memory
 *   CreateContainerConfigError in api-7f9c: secret "db" not found
 *   readiness probe failing in api-7f9c (container api)
 */

export interface ContainerHealthInput {
  name: string;
  image: string;
  ready: boolean;
  restartCount: number;
  waiting?: { reason?: string; message?: string };
  terminated?: { reason?: string; exitCode?: number };
  lastTerminated?: { reason?: string; exitCode?: number };
}

export interface PodHealthInput {
  name: string;
  /** Pending | Running | Succeeded | Failed | Unknown */
  phase: string;
  /** The message of PodScheduled=False with reason Unschedulable, when the scheduler gave up. */
  unschedulable?: string;
  containers: ContainerHealthInput[];
  /** The Job that started this pod (its job-name label), if any. */
  job?: string;
}

const pullFailures = new Set(["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"]);
const configFailures = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

function restarts(n: number): string {
  return `${n} restart${n === 1 ? "" : "s"}`;
}

function unschedulableReason(message: string): string {
  const resource = /Insufficient ([\w/-]+(?:\.[\w/-]+)*)/i.exec(message)?.[1];
  if (resource) return `Unschedulable: insufficient ${resource.replace(/^nvidia\.com\//, "")}`;
  if (/didn't match Pod's node affinity|node selector/i.test(message)) return "Unschedulable: no node matches the node selector or affinity";
  if (/untolerated taint/i.test(message)) return "Unschedulable: every node has a taint the pod does not tolerate";
  if (/unbound immediate PersistentVolumeClaims|persistentvolumeclaim/i.test(message)) return "Unschedulable: a PersistentVolumeClaim is not bound";
  return `Unschedulable: ${message.slice(0, 160)}`;
}

function pullReason(reason: string, c: ContainerHealthInput): string {
  const message = c.waiting?.message ?? "";
  if (/not found|manifest unknown|does not exist/i.test(message)) return `${reason}: image ${c.image} not found`;
  if (/unauthorized|denied|authentication required|forbidden/i.test(message)) return `${reason}: access to image ${c.image} denied (check imagePullSecrets)`;
  return `${reason}: image ${c.image} could not be pulled`;
}

function containerProblem(pod: PodHealthInput, c: ContainerHealthInput): string | undefined {
  const waiting = c.waiting?.reason;
  const last = c.lastTerminated ?? c.terminated;
  if (waiting === "CrashLoopBackOff" || (c.terminated && c.terminated.exitCode !== 0 && c.restartCount > 0)) {
    if (last?.reason === "OOMKilled") return `OOMKilled in ${pod.name} (container ${c.name}, ${restarts(c.restartCount)})`;
    const exit = last?.exitCode !== undefined ? `exit ${last.exitCode}, ` : "";
    return `CrashLoopBackOff in ${pod.name} (${exit}${restarts(c.restartCount)})`;
  }
  if (c.terminated?.reason === "OOMKilled" || (last?.reason === "OOMKilled" && !c.ready)) {
    return `OOMKilled in ${pod.name} (container ${c.name}, ${restarts(c.restartCount)})`;
  }
  if (waiting && pullFailures.has(waiting)) return pullReason(waiting, c);
  if (waiting && configFailures.has(waiting)) {
    return `${waiting} in ${pod.name}${c.waiting?.message ? `: ${c.waiting.message.slice(0, 160)}` : ""}`;
  }
  return undefined;
}

/** The most telling problem of one pod, or undefined when it looks healthy or is just starting. */
export function podProblem(pod: PodHealthInput): string | undefined {
  if (pod.phase === "Succeeded") return undefined;
  if (pod.unschedulable !== undefined) return unschedulableReason(pod.unschedulable);
  for (const c of pod.containers) {
    const problem = containerProblem(pod, c);
    if (problem) return problem;
  }
  const unready = pod.phase === "Running" ? pod.containers.find((c) => !c.ready && !c.waiting && !c.terminated) : undefined;
  if (unready) return `readiness probe failing in ${pod.name} (container ${unready.name})`;
  return undefined;
}

const severity = [/^OOMKilled/, /^CrashLoopBackOff/, /^(ImagePullBackOff|ErrImagePull|InvalidImageName)/, /^Unschedulable/, /^Create|^RunContainer/, /^readiness/];

/** The problem to show for a set of pods: the most severe kind first, then by pod name. */
export function worstPodProblem(pods: readonly PodHealthInput[]): string | undefined {
  const problems = [...pods].sort((a, b) => a.name.localeCompare(b.name)).map(podProblem).filter((p): p is string => p !== undefined);
  for (const kind of severity) {
    const hit = problems.find((p) => kind.test(p));
    if (hit) return hit;
  }
  return problems[0];
}
