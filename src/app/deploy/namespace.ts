import { defaultSandbox } from "../../domain/sandbox.ts";
import { NamespaceError } from "../../ports/cluster.ts";
import { announce } from "../announce.ts";
import { StagingError } from "./errors.ts";
import type { Work } from "./work.ts";

/**
 * Creates the staging's namespace, waiting while a namespace of the same name is still
 * terminating (a delete just before a deploy): deploying into it would fail. Never adopts a
 * namespace Octostage did not create for this staging.
 */
export async function ensureNamespaceReady(work: Work, status: "deploying" | "restoring"): Promise<void> {
  const { deps, staging: s } = work;
  const until = deps.clock.now().getTime() + deps.timing.namespaceTerminatingWaitMs;
  let said = false;
  for (;;) {
    try {
      await deps.cluster.ensureNamespace(s.namespace, s.id, (s.desiredSpec.sandbox ?? defaultSandbox).podSecurity);
      return;
    } catch (err) {
      if (!(err instanceof NamespaceError)) throw err;
      if (err.code === "not_owned") throw new StagingError("namespace_not_owned", err.message);
      if (deps.clock.now().getTime() >= until) throw new StagingError("namespace_terminating", `${err.message}; deploying once it is gone`);
      if (!said) {
        said = true;
        const out = await deps.store.progress(work.guard.lease, { to: status, reason: `waiting for namespace ${s.namespace} to finish terminating`, cause: "namespace terminating", actor: "octostage" });
        await announce(deps, out.transition, "namespace terminating");
      }
      await deps.sleep(deps.timing.namespacePollMs, work.guard.signal);
    }
  }
}

/**
 * Waits until the namespace is really gone (a namespace stays Terminating while its contents
 * are deleted, and for ever if a finalizer holds it). Throws StagingError namespace_stuck,
 * naming what holds it, when it is still there after `namespaceGoneTimeoutMs`.
 */
export async function waitForNamespaceGone(work: Work): Promise<void> {
  const { deps, staging: s } = work;
  const until = deps.clock.now().getTime() + deps.timing.namespaceGoneTimeoutMs;
  let shown = "";
  for (;;) {
    const state = await deps.cluster.namespaceState(s.namespace);
    if (!state.exists) return;
    const holders = state.holders.join("; ");
    if (deps.clock.now().getTime() >= until) {
      throw new StagingError("namespace_stuck", `namespace ${s.namespace} is still terminating${holders ? `: ${holders}` : ""}`);
    }
    if (holders && holders !== shown) {
      shown = holders;
      const out = await deps.store.progress(work.guard.lease, { to: "cleaning", reason: `waiting for namespace ${s.namespace} to terminate: ${holders}`, cause: "namespace terminating", actor: "octostage" });
      await announce(deps, out.transition, "namespace terminating");
    }
    await deps.sleep(deps.timing.namespacePollMs, work.guard.signal);
  }
}
