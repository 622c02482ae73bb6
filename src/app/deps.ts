import type { ChatChannel } from "../ports/chat.ts";
import type { ProjectConfig } from "../domain/settings.ts";
import type { Cluster } from "../ports/cluster.ts";
import type { Clock } from "../ports/clock.ts";
import type { CodeHost } from "../ports/code-host.ts";
import type { Helm } from "../ports/helm.ts";
import type { IssueTracker } from "../ports/issue-tracker.ts";
import type { Logger } from "../ports/logger.ts";
import type { WorkQueue } from "../ports/queue.ts";
import type { StagingStore } from "../ports/store.ts";
import type { ChartCatalog } from "./charts.ts";
import type { Timing } from "./timing.ts";

/** Everything a use case may talk to. Wired once in src/main/. */
export interface AppDeps {
  store: StagingStore;
  queue: WorkQueue;
  project: ProjectConfig;
  helm: Helm;
  cluster: Cluster;
  codeHost: CodeHost;
  clock: Clock;
  logger: Logger;
  /** Identifies this process in leases (host:pid:random). */
  workerId: string;
  timing: Timing;
  /** The project charts' keys and schemas (overrides are checked against values.schema.json); absent: not checked before deploy. */
  charts?: ChartCatalog;
  /** Jira Cloud, when its credentials are configured: the remote links on linked issues. */
  issueTracker?: IssueTracker;
  /** Slack, when its bot token is configured: the repositories' notification channels (report-slack.ts). */
  chat?: ChatChannel;
  /** Waits, abortably (polling a namespace that is going away). Tests make it instant. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
