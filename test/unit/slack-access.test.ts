import { describe, expect, test } from "vitest";
import { groupsToResolve, slackAccessEntryProblem, slackRefusal, slackRole } from "../../src/domain/slack-access.ts";
import type { SlackAccess } from "../../src/domain/slack-access.ts";

const access: SlackAccess = { read: ["*"], operate: ["S0QA", "C0STAGING"], admin: ["U0LEAD"], grantedBy: "DevOps in #devops" };

describe("Slack roles per repository", () => {
  test("nobody has a role when the repository configures none", () => {
    expect(slackRole(undefined, { userId: "U1", groups: [] })).toBeNull();
    expect(slackRole({ read: [], operate: [], admin: [] }, { userId: "U1", groups: ["S0QA"], channelId: "C0STAGING" })).toBeNull();
  });

  test("the highest role any entry gives: user, user group, channel or everyone", () => {
    expect(slackRole(access, { userId: "U1", groups: [] })).toBe("read");
    expect(slackRole(access, { userId: "U1", groups: ["S0QA"] })).toBe("operate");
    expect(slackRole(access, { userId: "U1", groups: [], channelId: "C0STAGING" })).toBe("operate");
    expect(slackRole(access, { userId: "U1", groups: [], channelId: "C0OTHER" })).toBe("read");
    expect(slackRole(access, { userId: "U0LEAD", groups: [] })).toBe("admin");
  });

  test("a user id never matches as a channel or a group, and ids are exact", () => {
    const a: SlackAccess = { read: [], operate: ["U0QA"], admin: ["S0ADMINS"] };
    expect(slackRole(a, { userId: "U0QA2", groups: [] })).toBeNull();
    expect(slackRole(a, { userId: "U9", groups: [], channelId: "U0QA" })).toBeNull();
    expect(slackRole(a, { userId: "S0ADMINS", groups: [] })).toBe("admin");
    expect(slackRole(a, { userId: "U9", groups: [], channelId: "S0ADMINS" })).toBeNull();
  });

  test("only user groups need a lookup", () => {
    expect(groupsToResolve(access)).toEqual(["S0QA"]);
    expect(groupsToResolve({ read: ["S1"], operate: ["S1", "S2"], admin: [] })).toEqual(["S1", "S2"]);
    expect(groupsToResolve(undefined)).toEqual([]);
  });

  test("entries must be Slack ids", () => {
    for (const ok of ["*", "U024BE7LH", "W012A3CDE", "S0614TZR7", "C024BE91L", "G024BE91L"]) expect(slackAccessEntryProblem(ok)).toBeUndefined();
    for (const bad of ["@alice", "#qa", "u024be7lh", "U", "everyone"]) expect(slackAccessEntryProblem(bad)).toContain("is not a Slack");
  });

  test("a refusal names the role needed, the role held and who grants it", () => {
    expect(slackRefusal("acme/web", "delete", "admin", "operate", access)).toBe(
      "delete needs the admin role on acme/web; you have operate. Roles come from Octostage's project config (`slack.roles` of acme/web): ask DevOps in #devops.",
    );
    expect(slackRefusal("acme/web", "archive", "operate", null, undefined)).toContain("you have no role there");
    expect(slackRefusal("acme/web", "archive", "operate", null, undefined)).toContain("ask whoever runs Octostage");
  });
});

describe("Slack access entries: edges", () => {
  test("an entry is a whole Slack id: nothing before or after it", () => {
    for (const bad of ["xU0ALICE", "U0ALICE!", "<@U0ALICE>", "U0", "u0alice", "S0QA x", ""]) expect(slackAccessEntryProblem(bad), bad).toBeDefined();
    for (const good of ["*", "U0ALICE", "W0ENTERPRISE", "S0QATEAM", "C0STAGING", "G0PRIVATE"]) expect(slackAccessEntryProblem(good), good).toBeUndefined();
    expect(slackAccessEntryProblem("@" + "a".repeat(100))).toBe(`"@${"a".repeat(39)}" is not a Slack user (U…/W…), user group (S…), channel (C…/G…) or *`);
  });

  test("a private channel (G…) gives its role to whoever asks from it, and only from it", () => {
    const access: SlackAccess = { read: [], operate: ["G0PRIVATE"], admin: [] };
    expect(slackRole(access, { userId: "U1", groups: [], channelId: "G0PRIVATE" })).toBe("operate");
    expect(slackRole(access, { userId: "U1", groups: [], channelId: "G0OTHER" })).toBeNull();
    expect(slackRole(access, { userId: "U1", groups: ["G0PRIVATE"] })).toBeNull();
  });
});
