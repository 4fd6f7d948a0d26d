// One bound ldapts connection per store operation: TLS material read fresh, timeouts set, unbound in finally.

import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { ConfigError, DirectoryError, errorMessage } from '../errors.ts';
import { PagedReader } from './ldap-paged-reader.ts';

/** PEM strings for mutual TLS. `ca` replaces Node's bundled roots. */
export interface TlsMaterial {
  ca: string | string[];
  cert: string;
  key: string;
  /** Name checked against the server certificate, when it differs from the URL's host. */
  servername?: string;
}

/** TLS material, or a function returning it, called for every new connection so a rotated certificate is used. */
export type TlsSource = TlsMaterial | (() => TlsMaterial | Promise<TlsMaterial>);

export interface ConnectionSettings {
  /** `ldaps://host:port`, or `ldap://host:port` with `startTls`. */
  url: string;
  startTls?: boolean;
  bindDn: string;
  /** Never logged and never part of an error message. */
  bindPassword: string;
  tls: TlsSource;
  timeoutMs: number;
  connectTimeoutMs: number;
}

/** Returns the server as error messages name it: the URL without credentials or path. */
export function serverName(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return url;
  }
}

/** Opens connections to one server; each `run` gets its own bound client and unbinds it afterwards. */
export class LdapConnector {
  readonly server: string;

  constructor(private readonly settings: ConnectionSettings) {
    this.server = serverName(settings.url);
    // slapd's TLSVerifyClient does not apply to plain ldap://, so such a link would carry the bind password in clear.
    if (settings.url.startsWith('ldap://') && !settings.startTls) {
      throw new ConfigError(
        `LDAP URL ${this.server} is plain ldap:// without StartTLS; use ldaps:// or enable StartTLS`,
      );
    }
  }

  /** The bound connection that `run` reuses, with the TLS material it was opened with. */
  private connection: Promise<{ client: Client; material: string }> | undefined;

  /**
   * Runs `work` on the store's bound connection, connecting and binding first when there is none
   * or when the TLS material changed since it was opened (a rotation then takes effect at once).
   * Any failure becomes a DirectoryError that names the `action` (with its DN or base) and the
   * server; DirectoryErrors from `work` pass unchanged. A failure other than an LDAP result code
   * (a timeout, a closed socket) drops the connection, so the next call connects afresh.
   */
  async run<T>(action: string, work: (client: Client) => Promise<T>): Promise<T> {
    let client: Client | undefined;
    try {
      client = await this.connected(await this.tlsOptions());
      return await work(client);
    } catch (error) {
      if (!(error instanceof ResultCodeError)) await this.drop(client);
      throw this.wrap(action, error);
    }
  }

  /** Unbinds the reused connection; a later `run` connects again. */
  async close(): Promise<void> {
    await this.drop(undefined);
  }

  private async connected(tlsOptions: ConnectionOptions): Promise<Client> {
    const material = JSON.stringify([tlsOptions.ca, tlsOptions.cert, tlsOptions.key]);
    const current = await this.connection?.catch(() => undefined);
    if (current && current.material !== material) await this.drop(current.client);
    this.connection ??= this.connect(tlsOptions)
      .then((client) => ({ client, material }))
      .catch((error: unknown) => {
        this.connection = undefined;
        throw error;
      });
    return (await this.connection).client;
  }

  private async connect(tlsOptions: ConnectionOptions): Promise<Client> {
    const secure = !this.settings.startTls;
    const client = new Client({
      url: this.settings.url,
      timeout: this.settings.timeoutMs,
      connectTimeout: this.settings.connectTimeoutMs,
      ...(secure ? { tlsOptions } : {}),
    });
    try {
      if (this.settings.startTls) await client.startTLS(tlsOptions);
      await client.bind(this.settings.bindDn, this.settings.bindPassword);
      return client;
    } catch (error) {
      await client.unbind().catch(() => undefined);
      throw error;
    }
  }

  /** Forgets the reused connection (only if it is still `client`, when one is given) and unbinds it. */
  private async drop(client: Client | undefined): Promise<void> {
    const current = this.connection;
    if (!current) return;
    const held = await current.catch(() => undefined);
    if (client && held?.client !== client) return;
    if (this.connection === current) this.connection = undefined;
    // A failed unbind (server gone, timeout) must not hide the operation's own outcome.
    await held?.client.unbind().catch(() => undefined);
  }

  /** Like `run`, for snapshots: a PagedReader on its own connection, closed in `finally`. */
  async read<T>(action: string, work: (reader: PagedReader) => Promise<T>): Promise<T> {
    let reader: PagedReader | undefined;
    try {
      reader = await PagedReader.open({ ...this.settings, tlsOptions: await this.tlsOptions() });
      return await work(reader);
    } catch (error) {
      throw this.wrap(action, error);
    } finally {
      await reader?.close();
    }
  }

  /** Wraps a foreign error once, naming the action and the server; DirectoryErrors are returned unchanged. */
  wrap(action: string, error: unknown): DirectoryError {
    if (error instanceof DirectoryError) return error;
    return new DirectoryError(`${action} on ${this.server} failed: ${describeLdapError(error)}`, {
      cause: error,
    });
  }

  private async tlsOptions(): Promise<ConnectionOptions> {
    const source = this.settings.tls;
    const material = typeof source === 'function' ? await source() : source;
    return {
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      minVersion: 'TLSv1.2',
      ...(material.servername ? { servername: material.servername } : {}),
    };
  }
}

/** Describes an ldapts or socket error in one short line, without ldapts's long standard texts. */
export function describeLdapError(error: unknown): string {
  if (error instanceof ResultCodeError) {
    const detail = error.message.split('Code:')[0]?.trim();
    return `LDAP result ${error.code} (${error.name})${detail && detail.length < 200 ? `: ${detail}` : ''}`;
  }
  return errorMessage(error);
}
