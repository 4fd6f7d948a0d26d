// Reads the active TLS material through a ParameterReader, for the LDAP clients and the LDAP server hosts.

import type { ParameterReader } from '../parameters.ts';
import { DEFAULT_PKI_PREFIX } from './config.ts';
import { splitPem } from './crypto.ts';
import { CertificateError } from './errors.ts';
import type { LeafRole } from './issue.ts';
import { parsePkiState } from './state.ts';
import { pkiParameterNames, versionSelector } from './store.ts';

/** Node `tls.connect` / `tls.createServer` options: trusted CAs, certificate chain, private key (PEM). */
export interface TlsMaterial {
  ca: string[];
  cert: string;
  key: string;
}

/**
 * Reads the trust bundle and the `role` certificate and key that the active pointer names. Only the pointer
 * changes over time, and the versions it names never do, so a cached pointer always yields a matching set.
 */
export async function loadTlsMaterial(
  reader: ParameterReader,
  role: LeafRole,
  prefix: string = DEFAULT_PKI_PREFIX,
): Promise<TlsMaterial> {
  const names = pkiParameterNames(prefix);
  const state = parsePkiState(await reader.get(names.active), names.active);
  const ref = state[role];
  const [bundle, cert, key] = await Promise.all([
    reader.get(versionSelector(names.trustBundle, state.trustBundle)),
    reader.get(versionSelector(names.cert(role), ref.cert)),
    reader.get(versionSelector(names.key(role), ref.key)),
  ]);

  const ca = splitPem(bundle);
  if (ca.length === 0)
    throw new CertificateError('format', `${names.trustBundle} version ${state.trustBundle} is empty`);
  return { ca, cert, key };
}

/**
 * Reads the LDAP client's TLS material (trust bundle, client certificate, key). Pass an SsmParameterReader with
 * a finite cache, so a rotation reaches running Lambdas within the cache period and without a deploy.
 */
export function loadLdapTlsMaterial(
  reader: ParameterReader,
  prefix: string = DEFAULT_PKI_PREFIX,
): Promise<TlsMaterial> {
  return loadTlsMaterial(reader, 'client', prefix);
}
