// The local control plane: the real handlers on embedded defaults, with the Okta double, on 127.0.0.1.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHrHookHandler } from '../functions/hr-hook.ts';
import { createOktaHookHandler } from '../functions/okta-hook.ts';
import type { ClassPublishResult } from '../shared/bundle/publish.ts';
import { loadConfig } from '../shared/config.ts';
import { inboxSyncDeps, publishAll } from '../shared/control-plane.ts';
import { applyPendingEntries, directoryChanged } from '../shared/directory/inbox-sync.ts';
import type { DirectoryStore } from '../shared/directory/model.ts';
import { errorMessage } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { createRuntime, type Runtime } from '../shared/runtime.ts';
import { MAX_WEBHOOK_BODY_BYTES } from '../shared/sources/http.ts';
import { type HrDouble, startHrDouble } from './hr-double.ts';
import { type OktaDouble, startOktaDouble } from './okta-double.ts';

export interface LocalStackOptions {
  /** Folder for the directory file, buckets, parameters and keyring (default `.local`). */
  dataDir?: string;
  /** Port for the hook; 0 picks a free one. */
  port?: number;
  policyFile?: string;
  log: Log;
  /** Replaces the embedded directory, e.g. with an LDAP store in integration tests. */
  openDirectory?: () => Promise<DirectoryStore>;
}

export interface LocalStack {
  hookUrl: string;
  hookSecret: string;
  hrHookUrl: string;
  hrSecret: string;
  okta: OktaDouble;
  hr: HrDouble;
  runtime: Runtime;
  dataDir: string;
  keyringFile: string;
  bundleDir: string;
  /** Applies pending inbox entries and publishes when the directory changed; runs serially. */
  syncNow(): Promise<{ applied: number; failed: number; published: ClassPublishResult[] }>;
  publishNow(): Promise<ClassPublishResult[]>;
  close(): Promise<void>;
}

const HOOK_PATH = '/hooks/okta';
const HR_HOOK_PATH = '/hooks/hr';

type LambdaHandler = (event: APIGatewayProxyEventV2, context: never) => Promise<unknown>;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir ?? '.local');
  await mkdir(dataDir, { recursive: true });
  const okta = await startOktaDouble({ stateFile: join(dataDir, 'okta-users.json') });
  const hr = await startHrDouble();
  const secrets = await ensureParameters(dataDir, okta.apiToken, hr.apiKey);

  const config = loadConfig({
    EMBEDDED_DIRECTORY_FILE: join(dataDir, 'directory.json'),
    LOCAL_STORE_DIR: join(dataDir, 'buckets'),
    LOCAL_PARAMETER_FILE: join(dataDir, 'parameters.json'),
    OKTA_ORG_URL: okta.url,
    HR_API_URL: hr.url,
    POLICY_FILE: options.policyFile ?? 'config/host-classes.yaml',
  });
  const runtime = createRuntime(
    config,
    options.openDirectory ? { openDirectory: options.openDirectory } : {},
  );
  const handlers: Record<string, LambdaHandler> = {
    [HOOK_PATH]: createOktaHookHandler(() => runtime) as LambdaHandler,
    [HR_HOOK_PATH]: createHrHookHandler(() => runtime) as LambdaHandler,
  };

  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(job: () => Promise<T>): Promise<T> => {
    const next = queue.catch(() => undefined).then(job);
    queue = next;
    return next;
  };

  let publishPending = false;
  const publishNow = () => serially(() => publishAll(runtime, options.log));
  const syncNow = () =>
    serially(async () => {
      const store = await runtime.openDirectory();
      const deps = await inboxSyncDeps(runtime, store, options.log);
      const { results, failed } = await applyPendingEntries(deps).finally(() => store.close());
      // A publish that failed earlier is retried with the next sync, as the schedule does in AWS.
      publishPending ||= directoryChanged(results);
      const published = publishPending ? await publishAll(runtime, options.log) : [];
      publishPending = false;
      return { applied: results.length, failed: failed.length, published };
    });

  const server = createServer((request, response) => {
    void serveHook(request, handlers).then(
      (result) => {
        response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
        response.end(result.body ?? '');
        // Deliveries are applied after the response is sent, as the S3 event does in AWS.
        if (request.method === 'POST' && result.statusCode === 200) {
          void syncNow().catch((error: unknown) =>
            options.log.error('sync failed', { error: errorMessage(error) }),
          );
        }
      },
      () => {
        response.writeHead(500);
        response.end();
      },
    );
  });
  await listen(server, options.port ?? 0);
  const { port } = server.address() as AddressInfo;

  return {
    hookUrl: `http://127.0.0.1:${port}${HOOK_PATH}`,
    hookSecret: secrets.hookSecret,
    hrHookUrl: `http://127.0.0.1:${port}${HR_HOOK_PATH}`,
    hrSecret: secrets.hrSecret,
    okta,
    hr,
    runtime,
    dataDir,
    keyringFile: join(dataDir, 'keyring.pem'),
    bundleDir: join(
      config.objectStore.kind === 'local' ? config.objectStore.root : '',
      config.buckets.bundles,
    ),
    syncNow,
    publishNow,
    async close() {
      await new Promise((resolveClose) => server.close(resolveClose));
      server.closeAllConnections();
      await queue.catch(() => undefined);
      await okta.close();
      await hr.close();
    },
  };
}

/** Turns a Node request into the API Gateway HTTP API event the Lambda handler takes. */
async function serveHook(
  request: IncomingMessage,
  handlers: Record<string, LambdaHandler>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const hook = handlers[path];
  if (!hook) return { statusCode: 404, body: 'not found' };

  const chunks: Buffer[] = [];
  let size = 0;
  // Keep at most one byte past the limit, as API Gateway's own cap would, so the handler returns 413.
  const keep = MAX_WEBHOOK_BODY_BYTES + 1;
  for await (const chunk of request) {
    const bytes = chunk as Buffer;
    if (size < keep) chunks.push(bytes.subarray(0, keep - size));
    size += bytes.length;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const event = {
    version: '2.0',
    rawPath: path,
    headers,
    requestContext: { http: { method: request.method ?? 'GET', path } },
    body: Buffer.concat(chunks).toString('base64'),
    isBase64Encoded: true,
  } as unknown as APIGatewayProxyEventV2;
  return (await hook(event, localContext())) as APIGatewayProxyStructuredResultV2;
}

function localContext() {
  return { awsRequestId: randomBytes(8).toString('hex'), functionName: 'okta-hook-local' } as never;
}

/** Creates the parameter file and keyring on first start: hook secrets, API tokens, signing key. */
async function ensureParameters(
  dataDir: string,
  oktaToken: string,
  hrApiKey: string,
): Promise<{ hookSecret: string; hrSecret: string }> {
  const path = join(dataDir, 'parameters.json');
  const config = loadConfig({ OKTA_ORG_URL: 'http://127.0.0.1' });
  let values: Record<string, string> = {};
  if (existsSync(path)) values = JSON.parse(await readFile(path, 'utf8'));

  if (!values[config.signingKeyParameter]) {
    const pair = generateKeyPairSync('ed25519');
    values[config.signingKeyParameter] = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFile(
      join(dataDir, 'keyring.pem'),
      pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
  }
  values[config.okta.hookSecretParameter] ??= `Bearer ${randomBytes(24).toString('base64url')}`;
  values[config.hr.hookSecretParameter] ??= randomBytes(24).toString('base64url');
  values[config.okta.apiTokenParameter] = oktaToken;
  values[config.hr.apiKeyParameter] = hrApiKey;
  await writeFile(path, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
  return {
    hookSecret: values[config.okta.hookSecretParameter] as string,
    hrSecret: values[config.hr.hookSecretParameter] as string,
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
}
