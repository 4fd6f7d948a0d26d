// Test helper: an HTTP proxy on 127.0.0.1 in front of the S3-protocol server that records every
// request the agent makes and can cut a response short, to count polls and inject faults.

import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The request path without the query, e.g. `/bundles/manifests/general.json`. */
  path: string;
  ifNoneMatch?: string;
  status: number;
  /** Bytes of response body the proxy passed on to the client. */
  bodyBytes: number;
}

/**
 * How the proxy spoils one response. `cut`: the headers promise the whole body, and the connection
 * closes after `keepBytes`. `shorten`: a complete, well-formed response of only `keepBytes` bytes.
 */
export type ResponseFault = { kind: 'cut' | 'shorten'; keepBytes: number };

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`, for the agent's `source.endpoint`. */
  endpoint: string;
  readonly requests: RecordedRequest[];
  /** The headers of each request in `requests`, at the same index, to check signatures. */
  readonly requestHeaders: IncomingHttpHeaders[];
  /** Picks a fault for a request by its path; return undefined to forward it unchanged. */
  setFault(choose: ((path: string) => ResponseFault | undefined) | undefined): void;
  clear(): void;
  stop(): Promise<void>;
}

/** Starts a proxy that forwards every request to `upstream` (an `http://127.0.0.1:<port>` URL). */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  const requestHeaders: IncomingHttpHeaders[] = [];
  let chooseFault: ((path: string) => ResponseFault | undefined) | undefined;

  const server = createServer((incoming, outgoing) => {
    const path = (incoming.url ?? '/').split('?')[0] ?? '/';
    const record: RecordedRequest = {
      method: incoming.method ?? 'GET',
      path,
      ...(typeof incoming.headers['if-none-match'] === 'string' && {
        ifNoneMatch: incoming.headers['if-none-match'],
      }),
      status: 0,
      bodyBytes: 0,
    };
    requests.push(record);
    requestHeaders.push({ ...incoming.headers });
    const fault = chooseFault?.(path);
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response) => relay(response, outgoing, record, fault),
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  const address = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    requestHeaders,
    setFault: (choose) => {
      chooseFault = choose;
    },
    clear: () => {
      requests.length = 0;
      requestHeaders.length = 0;
    },
    stop: () => closeServer(server),
  };
}

/** Copies the upstream response to the client, spoiled by `fault` when one is given. */
function relay(
  response: IncomingMessage,
  outgoing: ServerResponse,
  record: RecordedRequest,
  fault: ResponseFault | undefined,
): void {
  record.status = response.statusCode ?? 0;
  const headers = { ...response.headers };
  if (fault?.kind === 'shorten') headers['content-length'] = String(fault.keepBytes);
  outgoing.writeHead(record.status, headers);
  response.on('data', (chunk: Buffer) => {
    const room = fault ? fault.keepBytes - record.bodyBytes : chunk.length;
    if (room <= 0) return;
    const part = chunk.subarray(0, room);
    record.bodyBytes += part.length;
    outgoing.write(part);
    if (fault?.kind === 'cut' && record.bodyBytes >= fault.keepBytes) outgoing.socket?.destroy();
  });
  response.on('end', () => outgoing.end());
}

function listen(server: Server): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address() as AddressInfo));
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
