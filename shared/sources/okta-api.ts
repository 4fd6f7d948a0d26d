// Reads a person's current state back from the Okta Users API; event hooks only name who changed.

import { z } from 'zod';
import { SourceError } from '../errors.ts';

/** Retries after a 429 before the sync gives up and lets the inbox retry it later. */
const RATE_LIMIT_RETRIES = 3;
/** Maximum wait for X-Rate-Limit-Reset, because Okta's rate-limit windows are one minute long. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

const userSchema = z.object({
  id: z.string(),
  status: z.string(),
  profile: z.looseObject({ login: z.string(), email: z.string().optional() }),
});
const groupSchema = z.object({ id: z.string(), profile: z.looseObject({ name: z.string() }) });

export type OktaUser = z.infer<typeof userSchema>;
export type OktaGroup = z.infer<typeof groupSchema>;

export interface OktaClientOptions {
  /** Org URL such as https://example.okta.com (or the local double's http://127.0.0.1:PORT). */
  orgUrl: string;
  apiToken: string;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export class OktaClient {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: OktaClientOptions) {
    this.fetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /** Returns the user, or undefined when Okta no longer has them (deleted). */
  async getUser(userId: string): Promise<OktaUser | undefined> {
    const response = await this.request(`/api/v1/users/${encodeURIComponent(userId)}`);
    if (response.status === 404) return undefined;
    return parse(userSchema, await response.json(), `user ${userId}`);
  }

  /** Returns every group the user belongs to, following Okta's Link pagination. */
  async getUserGroups(userId: string): Promise<OktaGroup[]> {
    const groups: OktaGroup[] = [];
    let path: string | undefined = `/api/v1/users/${encodeURIComponent(userId)}/groups?limit=200`;
    while (path) {
      const response = await this.request(path);
      if (response.status === 404) return [];
      groups.push(...parse(z.array(groupSchema), await response.json(), `groups of user ${userId}`));
      path = nextLink(response.headers.get('link'), this.options.orgUrl);
    }
    return groups;
  }

  /** Returns the ids of the group's members, or undefined when Okta no longer has the group. */
  async getGroupMembers(groupId: string): Promise<string[] | undefined> {
    const ids: string[] = [];
    let path: string | undefined = `/api/v1/groups/${encodeURIComponent(groupId)}/users?limit=200`;
    while (path) {
      const response = await this.request(path);
      if (response.status === 404) return undefined;
      ids.push(
        ...parse(
          z.array(z.object({ id: z.string() })),
          await response.json(),
          `members of group ${groupId}`,
        ).map((user) => user.id),
      );
      path = nextLink(response.headers.get('link'), this.options.orgUrl);
    }
    return ids;
  }

  private async request(path: string): Promise<Response> {
    const url = new URL(path, this.options.orgUrl);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetch(url, {
          headers: { accept: 'application/json', authorization: `SSWS ${this.options.apiToken}` },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        throw new SourceError(`request to Okta ${url.pathname} failed`, true, { cause: error });
      }
      if (response.ok || response.status === 404) return response;
      if (response.status === 429 && attempt < RATE_LIMIT_RETRIES) {
        await this.sleep(this.rateLimitWait(response));
        continue;
      }
      const retryable = response.status === 429 || response.status >= 500;
      throw new SourceError(`Okta returned HTTP ${response.status} for ${url.pathname}`, retryable);
    }
  }

  /** X-Rate-Limit-Reset is the epoch second when the window resets. */
  private rateLimitWait(response: Response): number {
    const reset = Number(response.headers.get('x-rate-limit-reset'));
    const wait = Number.isFinite(reset) ? reset * 1000 - this.now() : 1000;
    return Math.min(Math.max(wait, 100), MAX_RATE_LIMIT_WAIT_MS);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new SourceError(`Okta returned a malformed ${what}`, false, { cause: result.error });
  return result.data;
}

/** Follows only next links on the same origin, so a forged header cannot send the token elsewhere. */
function nextLink(header: string | null, orgUrl: string): string | undefined {
  const match = header
    ?.split(',')
    .find((part) => /rel="next"/.test(part))
    ?.match(/<([^>]+)>/);
  if (!match?.[1]) return undefined;
  const next = new URL(match[1], orgUrl);
  return next.origin === new URL(orgUrl).origin ? `${next.pathname}${next.search}` : undefined;
}
