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
