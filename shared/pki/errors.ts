// Errors of certificate issuance, checks and the SSM certificate store.

import { FleetLoginError } from '../errors.ts';

/** Check that a certificate failed before it could be stored or installed. */
export type CertificateCheck = 'format' | 'key-match' | 'chain' | 'validity' | 'usage';

/** A certificate or key failed a check. The message names the certificate, never the key. */
export class CertificateError extends FleetLoginError {
  constructor(
    readonly check: CertificateCheck,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A read or write of SSM Parameter Store failed. The message names the parameter. */
export class CertificateStoreError extends FleetLoginError {}
