// Reads an employee back from the HR system's API (BambooHR style); event-based webhooks carry ids only.

import { SourceError } from '../errors.ts';
import type { HrFields } from './hr-events.ts';
import { normaliseFields } from './hr-events.ts';

const REQUEST_TIMEOUT_MS = 10_000;

export interface HrClientOptions {
  /** Base such as https://api.bamboohr.com/api/gateway.php/COMPANY; `/v1/employees/{id}/` is appended. */
  apiUrl: string;
  apiKey: string;
  groupField: string;
  fetch?: typeof fetch;
}

export class HrClient {
  constructor(private readonly options: HrClientOptions) {}

  /** Returns the employee's fields, or undefined when the HR system no longer has them. */
  async getEmployee(employeeId: string): Promise<HrFields | undefined> {
    const fields = [
      'workEmail',
      'employeeNumber',
      'status',
      'employmentHistoryStatus',
      'terminationDate',
      this.options.groupField,
    ].join(',');
    const url = new URL(
      `${this.options.apiUrl.replace(/\/$/, '')}/v1/employees/${encodeURIComponent(employeeId)}/`,
    );
    url.searchParams.set('fields', fields);
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        headers: {
          accept: 'application/json',
          // BambooHR takes the API key as the Basic-auth user name with any password.
          authorization: `Basic ${Buffer.from(`${this.options.apiKey}:x`).toString('base64')}`,
        },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new SourceError(`request to the HR API for employee ${employeeId} failed`, true, {
        cause: error,
      });
    }
    if (response.status === 404) return undefined;
    if (!response.ok) {
      throw new SourceError(
        `the HR API answered ${response.status} for employee ${employeeId}`,
        response.status >= 500 || response.status === 429,
      );
    }
    const body = (await response.json()) as unknown;
    if (typeof body !== 'object' || body === null)
      throw new SourceError(`the HR API returned a malformed employee ${employeeId}`, false);
    return normaliseFields(body as Record<string, unknown>, this.options.groupField);
  }
}
