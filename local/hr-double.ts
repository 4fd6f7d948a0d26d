// A small stand-in for the HR system's employee API on 127.0.0.1, for the tests and the local stack.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HrDouble {
  /** Use as HR_API_URL. */
  url: string;
  apiKey: string;
  /** Sets an employee's fields as the API returns them (BambooHR aliases: workEmail, status, department…). */
  setEmployee(id: string, fields: Record<string, string>): void;
  removeEmployee(id: string): void;
  close(): Promise<void>;
}

export async function startHrDouble(apiKey = 'local-hr-key'): Promise<HrDouble> {
  const employees = new Map<string, Record<string, string>>();
  const expectedAuth = `Basic ${Buffer.from(`${apiKey}:x`).toString('base64')}`;
  const server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== expectedAuth) return send(401, { error: 'unauthorized' });
    const match = new URL(request.url ?? '/', 'http://localhost').pathname.match(
      /^\/v1\/employees\/([^/]+)\/?$/,
    );
    const employee = match?.[1] ? employees.get(decodeURIComponent(match[1])) : undefined;
    if (!employee) return send(404, { error: 'not found' });
    return send(200, { id: match?.[1], ...employee });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    setEmployee: (id, fields) => void employees.set(id, fields),
    removeEmployee: (id) => void employees.delete(id),
    close: () =>
      new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
