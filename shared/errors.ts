// The project's error tree: callers branch with instanceof, and every wrapper keeps the foreign error as `cause`.

/** Base class of every error fleet-login raises on purpose. */
export class FleetLoginError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or invalid; the message names the variable or file. */
export class ConfigError extends FleetLoginError {}

/** Input from outside (a webhook body, a policy file, a directory record) failed validation. */
export class ValidationError extends FleetLoginError {
  constructor(
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A directory read or write failed; the message names the entry or server, never a credential. */
export class DirectoryError extends FleetLoginError {}

/** An object store operation failed; the message names the bucket or folder and the key. */
export class StorageError extends FleetLoginError {}

/** A conditional write lost: the object already existed or changed since it was read. */
export class PreconditionFailedError extends StorageError {}

/** A call to a source system (Okta, the HR system) failed. */
export class SourceError extends FleetLoginError {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A publish failed. */
export class PublishError extends FleetLoginError {}

/** A guard refused a publish (empty snapshot, too large a shrink); nothing was published. */
export class PublishRefusedError extends PublishError {
  constructor(
    message: string,
    /** One line per class that tripped the shrink guard; empty for an empty snapshot. */
    readonly classes: readonly string[],
  ) {
    super(message);
  }
}

/** The host agent rejected a bundle; `check` names the check that failed. */
export class BundleRejectedError extends FleetLoginError {
  constructor(
    readonly check: BundleCheck,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type BundleCheck =
  | 'fetch'
  | 'format'
  | 'signature'
  | 'key-id'
  | 'host-class'
  | 'serial'
  | 'expiry'
  | 'file-hash'
  | 'install';

/** Returns the message of any thrown value, for log fields. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
