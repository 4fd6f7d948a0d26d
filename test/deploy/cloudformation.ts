// Test helper: packages serverless.yml offline with osls and reads the CloudFormation template it writes.

import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Stand-ins for the pseudo parameters CloudFormation fills in at deploy time. */
export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';
export const STAGE = 'dev';
/** Prefix of every resource name: service and stage, as serverless.yml's custom.prefix. */
export const PREFIX = `fleet-login-${STAGE}`;

/** Packaging six esbuild bundles takes seconds alone; two busy cores can make it a minute. */
const PACKAGE_TIMEOUT_MS = 170_000;

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string[] | string;
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/**
 * Runs `sls package --stage dev` into `outputFolder` with no AWS variables in the environment and a
 * fresh HOME, so the run proves that packaging needs no credentials and no login. Returns the template.
 */
export async function packageService(repository: string, outputFolder: string): Promise<Template> {
  const home = join(outputFolder, 'home');
  await mkdir(home);
  const sls = join(repository, 'node_modules/.bin/sls');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
  const artifacts = join(outputFolder, 'artifacts');
  await run(process.execPath, [sls, 'package', '--stage', STAGE, '--package', artifacts], {
    cwd: repository,
    env,
    timeout: PACKAGE_TIMEOUT_MS,
  });
  const text = await readFile(join(artifacts, 'cloudformation-template-update-stack.json'), 'utf8');
  return JSON.parse(text) as Template;
}

/** Returns the resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** Returns a property of a resource; the caller names the type it expects. */
export function propertyOf<T>(resource: Resource | undefined, name: string): T {
  return resource?.Properties?.[name] as T;
}

/**
 * Evaluates the intrinsic functions the template uses, with the stand-in account and region: Fn::Sub,
 * Fn::Join, Fn::Split, Ref and Fn::GetAtt. A Ref to a bucket gives its name, to a topic its ARN, to a
 * queue its URL; other references become `ref:<id>` and `getatt:<id>.<attribute>`.
 */
export function resolve(template: Template, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(template, item));
  if (typeof value !== 'object' || value === null) return value;

  const object = value as Record<string, unknown>;
  if ('Ref' in object) return resolveRef(template, String(object.Ref));
  if ('Fn::GetAtt' in object) return resolveGetAtt(template, object['Fn::GetAtt'] as [string, string]);
  if ('Fn::Sub' in object) return substitute(template, object['Fn::Sub'] as string);
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return (resolve(template, parts) as unknown[]).join(separator);
  }
  if ('Fn::Split' in object) {
    const [separator, text] = object['Fn::Split'] as [string, unknown];
    return String(resolve(template, text)).split(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolve(template, item)]));
}

/** Resolves a value that must come out as one string. */
export function resolveString(template: Template, value: unknown): string {
  const resolved = resolve(template, value);
  if (typeof resolved !== 'string') throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
  return resolved;
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::AccountId': ACCOUNT_ID,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::StackName': `${PREFIX}`,
};

function resolveRef(template: Template, id: string): string {
  const pseudo = PSEUDO_PARAMETERS[id];
  if (pseudo !== undefined) return pseudo;
  const resource = template.Resources[id];
  if (resource?.Type === 'AWS::S3::Bucket') {
    // A bucket without BucketName gets a name CloudFormation makes up; a stand-in serves here.
    const name = propertyOf(resource, 'BucketName');
    return name === undefined ? `generated-${id.toLowerCase()}` : resolveString(template, name);
  }
  if (resource?.Type === 'AWS::SNS::Topic') {
    return `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${resolveString(template, propertyOf(resource, 'TopicName'))}`;
  }
  if (resource?.Type === 'AWS::SQS::Queue') {
    const name = resolveString(template, propertyOf(resource, 'QueueName'));
    return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${name}`;
  }
  return `ref:${id}`;
}

function resolveGetAtt(template: Template, [id, attribute]: [string, string]): string {
  const resource = template.Resources[id];
  if (resource?.Type === 'AWS::SQS::Queue') {
    const name = resolveString(template, propertyOf(resource, 'QueueName'));
    if (attribute === 'Arn') return `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`;
    if (attribute === 'QueueName') return name;
  }
  return `getatt:${id}.${attribute}`;
}

function substitute(template: Template, text: string): string {
  return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => resolveRef(template, name));
}

/** Returns the statements of every inline policy of an IAM role, resolved. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not an IAM role`);
  const policies = propertyOf<{ PolicyDocument: { Statement: unknown[] } }[] | undefined>(role, 'Policies');
  const managed = propertyOf<unknown[] | undefined>(role, 'ManagedPolicyArns');
  if (managed !== undefined && managed.length > 0) throw new Error(`${roleId} has managed policies`);
  return (policies ?? []).flatMap(
    (policy) => resolve(template, policy.PolicyDocument.Statement) as Statement[],
  );
}

/** Returns a statement's actions or resources as an array, however the template wrote them. */
export function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Returns every Allow grant of the statements as a map of action to sorted resources. */
export function grantsOf(statements: readonly Statement[]): Record<string, string[]> {
  const grants: Record<string, Set<string>> = {};
  for (const statement of statements) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of asList(statement.Action)) {
      grants[action] ??= new Set();
      for (const resource of asList(statement.Resource)) grants[action].add(String(resource));
    }
  }
  return Object.fromEntries(
    Object.entries(grants).map(([action, resources]) => [action, [...resources].sort()]),
  );
}
