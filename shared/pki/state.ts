// The active pointer: which stored version of each certificate and key is in use, and the CA rotation phase.

import { z } from 'zod';
import { CertificateStoreError } from './errors.ts';

/** SSM parameter versions of one certificate and its key. */
const versionRefSchema = z.object({ cert: z.int().positive(), key: z.int().positive() });

/**
 * A CA rotation in progress. In `trust-published` the trust bundle contains the current and the next CA, and
 * the leaves still come from the current one. In `leaves-issued` the leaves come from the new CA, and the
 * bundle still contains the previous one. The overlap is measured from `since`, when the phase began.
 */
const caRotationSchema = z.discriminatedUnion('phase', [
  z.object({ phase: z.literal('trust-published'), nextCa: versionRefSchema, since: z.iso.datetime() }),
  z.object({ phase: z.literal('leaves-issued'), previousCa: versionRefSchema, since: z.iso.datetime() }),
]);

const pkiStateSchema = z.object({
  schema: z.literal(1),
  ca: versionRefSchema,
  intermediate: versionRefSchema.optional(),
  trustBundle: z.int().positive(),
  client: versionRefSchema,
  server: versionRefSchema,
  caRotation: caRotationSchema.optional(),
  updatedAt: z.iso.datetime(),
});

export type VersionRef = z.infer<typeof versionRefSchema>;
export type CaRotation = z.infer<typeof caRotationSchema>;
export type PkiState = z.infer<typeof pkiStateSchema>;

/** Parses the active pointer read from `parameterName`. Throws naming the parameter and the invalid field. */
export function parsePkiState(text: string, parameterName: string): PkiState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CertificateStoreError(`SSM parameter ${parameterName} is not valid JSON`, { cause: error });
  }
  const parsed = pkiStateSchema.safeParse(json);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.') ?? '';
    throw new CertificateStoreError(`SSM parameter ${parameterName} has an invalid field ${field}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Serializes the active pointer for storage. */
export function formatPkiState(state: PkiState): string {
  return JSON.stringify(pkiStateSchema.parse(state));
}
