// Test helper: reads serverless.yml as written, before osls resolves its variables, to see where values come from.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

/** A CloudFormation short-form tag (!Ref, !Sub, …) kept as its tag and value. */
export interface TaggedValue {
  tag: string;
  value: unknown;
}

export interface ServerlessSource {
  params: { default: Record<string, string> } & Record<string, Record<string, string>>;
  functions: Record<string, { environment?: Record<string, string | TaggedValue> }>;
}

const CLOUDFORMATION_TAGS = ['!Ref', '!Sub', '!GetAtt', '!Split'];

/** Parses serverless.yml with YAML merge keys applied and CloudFormation tags kept as TaggedValue. */
export async function readServerlessSource(repository: string): Promise<ServerlessSource> {
  const text = await readFile(join(repository, 'serverless.yml'), 'utf8');
  const customTags = CLOUDFORMATION_TAGS.flatMap((tag) =>
    (['scalar', 'seq'] as const).map((kind) => ({
      tag,
      ...(kind === 'seq' ? { collection: 'seq' as const } : {}),
      resolve: (value: unknown) => ({ tag, value }),
    })),
  );
  return parse(text, { merge: true, customTags }) as ServerlessSource;
}

/** Returns the stage parameter a value is read from, when the value is exactly `${param:name}`. */
export function stageParameterOf(value: string | TaggedValue): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^\$\{param:([A-Za-z0-9]+)\}$/.exec(value)?.[1];
}
