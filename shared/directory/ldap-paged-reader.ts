// A lean LDAP reader for snapshots: bind and paged searches on one TLS socket, decoding entries in place.
//
// ldapts builds several objects per attribute value. On a 50,000-person snapshot that allocation and
// its garbage collection took longer than slapd needed to send the data. Requests are still encoded
// by ldapts's message classes, and result codes become ldapts's error classes, so callers branch the
// same way as for every other operation. Only the decoding of responses is done here.

import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  BindRequest,
  type Entry,
  ExtendedRequest,
  type Filter,
  PagedResultsControl,
  SearchRequest,
  StatusCodeParser,
  UnbindRequest,
} from 'ldapts';
import { Cursor, decodeEntry, decodeResult, messageEnd, pagedCookie, type Result } from './ldap-ber.ts';

/** Requests this reader sends; ldapts exports the classes but not their common base type. */
type Request = BindRequest | ExtendedRequest | SearchRequest;

const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
const TAG_SEARCH_ENTRY = 0x64;
const TAG_SEARCH_DONE = 0x65;
const TAG_SEARCH_REFERENCE = 0x73;

export interface PagedReaderSettings {
  url: string;
  startTls?: boolean;
  bindDn: string;
  bindPassword: string;
  tlsOptions: ConnectionOptions;
  timeoutMs: number;
  connectTimeoutMs: number;
}

export interface PagedSearch {
  filter: Filter;
  attributes: string[];
  /** Entries per page; 0 sends one request without the paged-results control. */
  pageSize: number;
  /** Server-side time limit in seconds, 0 for none. */
  timeLimitSeconds: number;
}

interface Pending {
  messageId: number;
  onEntry?: (entry: Entry) => void;
  /** Requested attribute names by the exact and the lower-case spelling. */
  names: ReadonlyMap<string, string>;
  references: number;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
}

/** One bound connection that runs subtree searches and hands each entry to a callback as it arrives. */
export class PagedReader {
  private buffered: Buffer | undefined;
  private pending: Pending | undefined;
  private messageId = 0;
  private closedError: Error | undefined;

  private constructor(
    private socket: Socket,
    private readonly settings: PagedReaderSettings,
  ) {
    this.listen(socket);
  }

  /** Connects (ldaps://, or ldap:// with StartTLS), then binds; rejects within the connect timeout and the operation timeout. */
  static async open(settings: PagedReaderSettings): Promise<PagedReader> {
    const url = new URL(settings.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port) || (settings.startTls ? 389 : 636);
    const reader = new PagedReader(await connectSocket(settings, host, port), settings);
    try {
      if (settings.startTls) await reader.startTls(host);
      await reader.expectSuccess(
        new BindRequest({ messageId: reader.nextId(), dn: settings.bindDn, password: settings.bindPassword }),
      );
      return reader;
    } catch (error) {
      reader.socket.destroy();
      throw error;
    }
  }

  /** Runs a subtree search page by page; a non-zero result code raises ldapts's error class for it. */
  async search(base: string, search: PagedSearch, onEntry: (entry: Entry) => void): Promise<void> {
    const names = new Map(
      search.attributes.flatMap(
        (name) =>
          [
            [name, name],
            [name.toLowerCase(), name],
          ] as const,
      ),
    );
    let cookie: Buffer = Buffer.alloc(0);
    do {
      const controls =
        search.pageSize > 0
          ? [new PagedResultsControl({ critical: true, value: { size: search.pageSize, cookie } })]
          : [];
      const request = new SearchRequest({
        messageId: this.nextId(),
        baseDN: base,
        scope: 'sub',
        filter: search.filter,
        attributes: search.attributes,
        timeLimit: search.timeLimitSeconds,
        controls,
      });
      const result = await this.send(request, onEntry, names);
      if (result.code !== 0)
        throw StatusCodeParser.parse({ status: result.code, errorMessage: result.diagnostic } as never);
      if (result.references > 0)
        throw new Error(`the server returned ${result.references} referrals, which are not followed`);
      cookie = search.pageSize > 0 ? result.cookie : Buffer.alloc(0);
    } while (cookie.length > 0);
  }

  /** Sends an unbind and closes the socket; never throws. */
  async close(): Promise<void> {
    if (!this.closedError && !this.socket.destroyed) {
      // The write callback may never come from a stalled server, so the wait is bounded by the timeout.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.timeoutMs);
        this.socket.write(new UnbindRequest({ messageId: this.nextId() }).write(), () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.socket.destroy();
  }

  private async startTls(host: string): Promise<void> {
    await this.expectSuccess(new ExtendedRequest({ messageId: this.nextId(), oid: STARTTLS_OID }));
    const plain = this.socket;
    plain.removeAllListeners('data');
    this.socket = await upgradeSocket(plain, this.settings, host);
    this.listen(this.socket);
  }

  private async expectSuccess(request: Request): Promise<void> {
    const result = await this.send(request);
    if (result.code !== 0)
      throw StatusCodeParser.parse({ status: result.code, errorMessage: result.diagnostic } as never);
  }

  private nextId(): number {
    this.messageId += 1;
    return this.messageId;
  }

  /** Writes one request and resolves with its final response, or rejects on timeout or a closed connection. */
  private send(
    request: Request,
    onEntry?: (entry: Entry) => void,
    names: ReadonlyMap<string, string> = new Map(),
  ): Promise<Result> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`${request.constructor.name} timed out after ${this.settings.timeoutMs} ms`));
      }, this.settings.timeoutMs);
      const settle =
        <T>(action: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          this.pending = undefined;
          action(value);
        };
      this.pending = {
        messageId: request.messageId,
        names,
        references: 0,
        resolve: settle(resolve),
        reject: settle(reject),
        ...(onEntry ? { onEntry } : {}),
      };
      this.socket.write(request.write());
    });
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    this.socket.destroy();
    this.pending?.reject(error);
  }

  /** Splits the byte stream into whole LDAPMessages; a partial message waits for the next chunk. */
  private receive(chunk: Buffer): void {
    const data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    let offset = 0;
    try {
      while (offset < data.length) {
        const end = messageEnd(data, offset);
        if (end === undefined || end > data.length) break;
        this.dispatch(data, offset, end);
        offset = end;
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.buffered = offset < data.length ? data.subarray(offset) : undefined;
  }

  private dispatch(data: Buffer, start: number, end: number): void {
    const cursor = new Cursor(data, start);
    cursor.expect(0x30);
    cursor.length();
    const messageId = cursor.integer(0x02);
    const pending = this.pending;
    // Message 0 is an unsolicited notice (RFC 4511 4.4.1): the server is about to close the connection.
    if (messageId === 0) throw new Error('the server sent a notice of disconnection');
    if (!pending || messageId !== pending.messageId)
      throw new Error(`unexpected LDAP message id ${messageId}`);

    const tag = cursor.tag();
    const operationEnd = cursor.length() + cursor.position;
    if (tag === TAG_SEARCH_ENTRY) {
      pending.onEntry?.(decodeEntry(cursor, operationEnd, pending.names));
      return;
    }
    if (tag === TAG_SEARCH_REFERENCE) {
      pending.references += 1;
      return;
    }
    const result = decodeResult(cursor, operationEnd, pending.references);
    if (tag === TAG_SEARCH_DONE && end > operationEnd)
      result.cookie = pagedCookie(new Cursor(data, operationEnd), end);
    pending.resolve(result);
  }
}

function connectSocket(settings: PagedReaderSettings, host: string, port: number): Promise<Socket> {
  return withConnectTimeout(settings, (done, fail) => {
    const socket = settings.startTls
      ? netConnect({ host, port }, () => done(socket))
      : tlsConnect({ ...settings.tlsOptions, host, port }, () => done(socket));
    socket.once('error', fail);
    return socket;
  });
}

function upgradeSocket(plain: Socket, settings: PagedReaderSettings, host: string): Promise<TLSSocket> {
  return withConnectTimeout(settings, (done, fail) => {
    const secure = tlsConnect(
      { ...settings.tlsOptions, socket: plain, ...(isIp(host) ? {} : { servername: host }) },
      () => done(secure),
    );
    secure.once('error', fail);
    return secure;
  });
}

/** Resolves when `start` reports the socket ready; destroys it and rejects after the connect timeout. */
function withConnectTimeout<T extends Socket>(
  settings: PagedReaderSettings,
  start: (done: (socket: T) => void, fail: (error: Error) => void) => T,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let socket: T | undefined;
    const timer = setTimeout(() => {
      socket?.destroy();
      reject(new Error(`connecting timed out after ${settings.connectTimeoutMs} ms`));
    }, settings.connectTimeoutMs);
    socket = start(
      (ready) => {
        clearTimeout(timer);
        ready.removeAllListeners('error');
        resolve(ready);
      },
      (error) => {
        clearTimeout(timer);
        socket?.destroy();
        reject(error);
      },
    );
  });
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}
