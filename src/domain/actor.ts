/** Who asks for a change: a person or a pipeline on some surface, or Octostage itself. */

export type ActorSource = "github" | "api" | "slack" | "jira" | "web" | "system";

export interface Actor {
  source: ActorSource;
  /** Stable id on that surface: a GitHub login (also on the web dashboard), a Slack user id, a token name, "octostage". */
  id: string;
  /** How people see it: a display name, the login again. */
  name: string;
}

/** Octostage itself: the reconciler, sweeps, confirmations from GitHub. */
export const systemActor: Actor = Object.freeze({ source: "system", id: "octostage", name: "Octostage" });

export function githubActor(login: string): Actor {
  return { source: "github", id: login, name: login };
}
