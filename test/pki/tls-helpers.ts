// A mutual-TLS echo server and client on 127.0.0.1 for acceptance tests of issued certificates.

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from '../../shared/pki/tls-material.ts';

export interface TlsTestServer {
  port: number;
  close(): Promise<void>;
}

/** Starts a server that requires a client certificate and sends "ok" to an authorized client. */
export async function startMutualTlsServer(material: TlsMaterial): Promise<TlsTestServer> {
  const server = tls.createServer({ ...material, requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.end('ok');
  });
  // A rejected handshake is the expected outcome of several tests, not a server failure.
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.close();
      await once(server, 'close');
    },
  };
}

/** Connects with `material` and returns "accepted" when the server sent "ok", else the error code. */
export async function tryMutualTls(port: number, material: TlsMaterial): Promise<string> {
  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({ host: '127.0.0.1', port, ...material });
  } catch (error) {
    // Node rejects a certificate whose key does not match before anything is sent.
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  return new Promise((resolve) => {
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve(answer === 'ok' ? 'accepted' : `closed with "${answer}"`));
  });
}
