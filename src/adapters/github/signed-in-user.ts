/** Who a GitHub user access token belongs to (the dashboard's sign-in): GET /user. */
import { Octokit } from "@octokit/rest";

export function createSignedInUser(opts: { apiUrl?: string }): (token: string) => Promise<{ login: string; name: string }> {
  return async (token) => {
    const octokit = new Octokit({ auth: token, ...(opts.apiUrl ? { baseUrl: opts.apiUrl } : {}), userAgent: "octostage-dashboard" });
    const { data } = await octokit.rest.users.getAuthenticated();
    return { login: data.login, name: data.name ?? data.login };
  };
}
