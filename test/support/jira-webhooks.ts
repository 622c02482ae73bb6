/**
 * Jira Cloud webhook bodies for tests, in the format Jira Cloud delivers them: `jira:issue_updated`
 * for a status change (issue_event_type_name "issue_generic", the issue with its fields after the
 * change, and a changelog item for the status), with the account-id users and /rest/api/2 `self`
 * links Cloud sends. Status categories are Jira's three fixed ones: "new" (To Do, id 2),
 * "indeterminate" (In Progress, id 4), "done" (Done, id 3).
 */
import { createHmac } from "node:crypto";

type StatusCategoryKey = "new" | "indeterminate" | "done";

interface StatusInput {
  name: string;
  category: StatusCategoryKey;
  /** The status id (default: 10000 for "new", 10001 for "indeterminate", 10002 for "done"). */
  id?: string;
}

interface IssueUpdatedOptions {
  key: string;
  /** Default: the key's prefix ("WEB" for "WEB-12"). */
  projectKey?: string;
  from: StatusInput;
  to: StatusInput;
  /** Another webhookEvent (e.g. "jira:issue_created") for the same body. */
  webhookEventOverride?: string;
  summary?: string;
  /** The Jira site (default "https://octostage-test.atlassian.net"). */
  site?: string;
  /** Milliseconds since the epoch (default: now). */
  timestamp?: number;
}

const categories: Record<StatusCategoryKey, { id: number; colorName: string; name: string; defaultStatusId: string }> = {
  new: { id: 2, colorName: "blue-gray", name: "To Do", defaultStatusId: "10000" },
  indeterminate: { id: 4, colorName: "yellow", name: "In Progress", defaultStatusId: "10001" },
  done: { id: 3, colorName: "green", name: "Done", defaultStatusId: "10002" },
};

/** Jira's timestamps in fields: "2026-12-01T10:15:30.123+0000". */
const jiraTime = (ms: number): string => new Date(ms).toISOString().replace("Z", "+0000");

function statusShape(site: string, status: StatusInput): Record<string, unknown> {
  const category = categories[status.category];
  const id = status.id ?? category.defaultStatusId;
  return {
    self: `${site}/rest/api/2/status/${id}`,
    description: "",
    iconUrl: `${site}/`,
    name: status.name,
    id,
    statusCategory: { self: `${site}/rest/api/2/statuscategory/${category.id}`, id: category.id, key: status.category, colorName: category.colorName, name: category.name },
  };
}

function userShape(site: string): Record<string, unknown> {
  const accountId = "712020:5f0a1c2e-4b7d-4e6a-9d1f-3c2b1a0e9f87";
  const avatar = (size: number): string =>
    `https://secure.gravatar.com/avatar/6b1d9f3a7c2e4d5f8a9b0c1d2e3f4a5b?d=https%3A%2F%2Favatar-management--avatars.us-west-2.prod.public.atl-paas.net%2Finitials%2FAR-3.png&size=${size}&s=${size}`;
  return {
    self: `${site}/rest/api/2/user?accountId=${encodeURIComponent(accountId)}`,
    accountId,
    avatarUrls: { "48x48": avatar(48), "24x24": avatar(24), "16x16": avatar(16), "32x32": avatar(32) },
    displayName: "Alex Rivera",
    active: true,
    timeZone: "Europe/Berlin",
    accountType: "atlassian",
  };
}

/** A `jira:issue_updated` webhook body for an issue moved from one status to another. */
export function jiraIssueUpdated(options: IssueUpdatedOptions): Record<string, any> {
  const site = (options.site ?? "https://octostage-test.atlassian.net").replace(/\/+$/, "");
  const timestamp = options.timestamp ?? Date.now();
  const projectKey = options.projectKey ?? options.key.slice(0, options.key.lastIndexOf("-"));
  const issueNumber = Number(options.key.slice(options.key.lastIndexOf("-") + 1)) || 1;
  const issueId = String(10_000 + issueNumber);
  const user = userShape(site);
  const fromStatus = statusShape(site, options.from);
  const toStatus = statusShape(site, options.to);
  const resolved = options.to.category === "done";
  return {
    timestamp,
    webhookEvent: options.webhookEventOverride ?? "jira:issue_updated",
    issue_event_type_name: "issue_generic",
    user,
    issue: {
      id: issueId,
      self: `${site}/rest/api/2/issue/${issueId}`,
      key: options.key,
      fields: {
        statuscategorychangedate: jiraTime(timestamp),
        issuetype: {
          self: `${site}/rest/api/2/issuetype/10001`,
          id: "10001",
          description: "Functionality or a feature expressed as a user goal.",
          iconUrl: `${site}/rest/api/2/universal_avatar/view/type/issuetype/avatar/10315?size=medium`,
          name: "Story",
          subtask: false,
          avatarId: 10315,
          entityId: "2f6d9a0c-8e4b-4c1d-9a7f-5b3e2d1c0a9f",
          hierarchyLevel: 0,
        },
        project: {
          self: `${site}/rest/api/2/project/10000`,
          id: "10000",
          key: projectKey,
          name: `${projectKey} project`,
          projectTypeKey: "software",
          simplified: false,
          avatarUrls: {
            "48x48": `${site}/rest/api/2/universal_avatar/view/type/project/avatar/10413`,
            "24x24": `${site}/rest/api/2/universal_avatar/view/type/project/avatar/10413?size=small`,
            "16x16": `${site}/rest/api/2/universal_avatar/view/type/project/avatar/10413?size=xsmall`,
            "32x32": `${site}/rest/api/2/universal_avatar/view/type/project/avatar/10413?size=medium`,
          },
        },
        resolution: resolved ? { self: `${site}/rest/api/2/resolution/10000`, id: "10000", description: "Work has been completed on this issue.", name: "Done" } : null,
        resolutiondate: resolved ? jiraTime(timestamp) : null,
        created: jiraTime(timestamp - 86_400_000),
        updated: jiraTime(timestamp),
        priority: { self: `${site}/rest/api/2/priority/3`, iconUrl: `${site}/images/icons/priorities/medium.svg`, name: "Medium", id: "3" },
        labels: [],
        assignee: user,
        reporter: user,
        creator: user,
        status: toStatus,
        summary: options.summary ?? `Issue ${options.key}`,
        description: null,
        components: [],
        fixVersions: [],
      },
    },
    changelog: {
      id: String(10_000 + (timestamp % 90_000)),
      items: [
        {
          field: "status",
          fieldtype: "jira",
          fieldId: "status",
          from: fromStatus.id,
          fromString: options.from.name,
          to: toStatus.id,
          toString: options.to.name,
        },
      ],
    },
  };
}

/**
 * The `X-Hub-Signature` header Jira sends with a webhook registered with a secret: "sha256=" and the
 * hex HMAC-SHA256 of the raw body, keyed with the secret (WebSub's method=signature form). Sources:
 * Atlassian, "Webhooks" (https://developer.atlassian.com/cloud/jira/platform/webhooks/, section
 * "Secure admin webhooks"), and Jira's "Managing webhooks" (confluence.atlassian.com/adminjiraserver/
 * managing-webhooks-938846912.html): "x-hub-signature: sha256=…".
 */
export function signJira(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}
