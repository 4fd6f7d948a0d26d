// Packages serverless.yml offline once and checks the CloudFormation template: IAM, buckets, triggers, settings.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../shared/config.ts';
import { LDAP_CONFIG_VARIABLES } from '../../shared/directory/ldap-config.ts';
import { loadPkiConfig, PKI_CONFIG_VARIABLES } from '../../shared/pki/config.ts';
import { createRotationSetup } from '../../shared/pki/setup.ts';
import { SSM_ACTIONS } from '../../shared/pki/store.ts';
import {
  ACCOUNT_ID,
  asList,
  grantsOf,
  PREFIX,
  packageService,
  propertyOf,
  REGION,
  type Resource,
  resolve,
  resolveString,
  resourcesOfType,
  roleStatements,
  type Statement,
  type Template,
} from './cloudformation.ts';
import { readServerlessSource, type ServerlessSource, stageParameterOf } from './serverless-source.ts';

const bucketArn = (name: string) => `arn:aws:s3:::${PREFIX}-${name}-${ACCOUNT_ID}-${REGION}`;
const BUNDLES = bucketArn('bundles');
const INBOX = bucketArn('inbox');
const AUDIT = bucketArn('audit');
/** The dev stage's example emergency bucket (params.dev.emergencyBucket). */
const EMERGENCY = 'arn:aws:s3:::fleet-login-dev-emergency-keys-example';
const HOST_ROLE = 'arn:aws:iam::123456789012:role/fleet-login-dev-host';
const parameter = (name: string) =>
  `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter/fleet-login/${STAGE_PATH}/${name}`;
const STAGE_PATH = 'dev';
const logGroup = (name: string) =>
  `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:/aws/lambda/${PREFIX}-${name}:*`;
const KMS_KEYS = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/*`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${PREFIX}-on-call`;
const failureQueue = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${PREFIX}-${name}-failures`;
/** The on-call topic's own KMS key, as the stand-in resolver writes a Fn::GetAtt of its ARN. */
const TOPIC_KEY = 'getatt:OnCallTopicKey.Arn';
const EC2_IN_ACCOUNT = `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:*/*`;

const logs = (name: string) => ({
  'logs:CreateLogStream': [logGroup(name)],
  'logs:PutLogEvents': [logGroup(name)],
});

/** What Lambda needs to attach a function to the VPC; Describe actions take no resource ARNs. */
const VPC_GRANTS = {
  'ec2:DescribeNetworkInterfaces': ['*'],
  'ec2:DescribeSubnets': ['*'],
  'ec2:CreateNetworkInterface': [EC2_IN_ACCOUNT],
  'ec2:DeleteNetworkInterface': [EC2_IN_ACCOUNT],
  'ec2:AssignPrivateIpAddresses': [EC2_IN_ACCOUNT],
  'ec2:UnassignPrivateIpAddresses': [EC2_IN_ACCOUNT],
};

const LDAP_LINK_PARAMETERS = [
  parameter('ldap/bind-password'),
  parameter('pki/active'),
  parameter('pki/client/cert'),
  parameter('pki/client/key'),
  parameter('pki/trust-bundle'),
];

/** What a publisher to the encrypted on-call topic needs: SNS encrypts with the key as the caller. */
const PUBLISH_ALERTS = {
  'sns:Publish': [TOPIC],
  'kms:GenerateDataKey': [TOPIC_KEY],
};

/**
 * Every action each function's role grants, and on what, as read from the code each function calls.
 * The hooks store deliveries. sync-directory applies them and writes markers and audit records.
 * publish-bundles reads manifests and emergency keys, writes bundles and alerts on a refusal.
 * emergency-keys reads its bucket and history and requests a publish. rotate-certs reads and
 * writes the PKI parameters.
 */
const EXPECTED_GRANTS: Record<string, Record<string, string[]>> = {
  'okta-hook': {
    ...logs('okta-hook'),
    's3:PutObject': [`${INBOX}/inbox/okta/*`],
    'ssm:GetParameters': [parameter('okta/hook-secret')],
    'kms:Decrypt': [KMS_KEYS],
  },
  'hr-hook': {
    ...logs('hr-hook'),
    's3:PutObject': [`${INBOX}/inbox/hr/*`],
    'ssm:GetParameters': [parameter('hr/hook-secret')],
    'kms:Decrypt': [KMS_KEYS],
  },
  'sync-directory': {
    ...logs('sync-directory'),
    's3:ListBucket': [INBOX],
    's3:GetObject': [`${INBOX}/inbox/*`, `${INBOX}/processed/*`],
    's3:PutObject': [`${AUDIT}/audit/*`, `${INBOX}/processed/*`, `${INBOX}/publish-requests/*`],
    'ssm:GetParameters': [parameter('hr/api-key'), parameter('okta/api-token'), ...LDAP_LINK_PARAMETERS],
    'kms:Decrypt': [KMS_KEYS],
    'sqs:SendMessage': [failureQueue('sync-directory')],
    ...VPC_GRANTS,
  },
  'publish-bundles': {
    ...logs('publish-bundles'),
    's3:ListBucket': [BUNDLES, EMERGENCY],
    's3:GetObject': [`${BUNDLES}/manifests/*`, `${EMERGENCY}/*`],
    's3:PutObject': [`${BUNDLES}/files/*`, `${BUNDLES}/manifests-history/*`, `${BUNDLES}/manifests/*`],
    'ssm:GetParameters': [parameter('bundle/signing-key'), ...LDAP_LINK_PARAMETERS],
    'kms:Decrypt': [KMS_KEYS, TOPIC_KEY],
    ...PUBLISH_ALERTS,
    ...VPC_GRANTS,
  },
  'emergency-keys': {
    ...logs('emergency-keys'),
    's3:ListBucket': [AUDIT, EMERGENCY],
    's3:GetObject': [`${AUDIT}/emergency-key-history/*`, `${EMERGENCY}/*`],
    's3:GetObjectVersion': [`${EMERGENCY}/*`],
    's3:GetObjectTagging': [`${EMERGENCY}/*`],
    's3:GetObjectVersionTagging': [`${EMERGENCY}/*`],
    's3:PutObject': [`${AUDIT}/emergency-key-history/*`, `${INBOX}/publish-requests/*`],
    'sqs:SendMessage': [failureQueue('emergency-keys')],
    'kms:Decrypt': [TOPIC_KEY],
    ...PUBLISH_ALERTS,
  },
  'rotate-certs': {
    ...logs('rotate-certs'),
    'ssm:GetParameters': [parameter('pki/*')],
    'ssm:PutParameter': [parameter('pki/*')],
    'kms:Decrypt': [KMS_KEYS, TOPIC_KEY],
    'kms:Encrypt': [KMS_KEYS],
    ...PUBLISH_ALERTS,
  },
  // osls's function that sets the existing emergency bucket's notifications, narrowed in serverless.yml.
  'custom-resource-existing-s3': {
    'logs:CreateLogGroup': [logGroup('custom-resource-existing-s3')],
    ...logs('custom-resource-existing-s3'),
    's3:GetBucketNotification': [EMERGENCY],
    's3:PutBucketNotification': [EMERGENCY],
    'lambda:AddPermission': [`arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${PREFIX}-emergency-keys`],
    'lambda:RemovePermission': [`arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${PREFIX}-emergency-keys`],
  },
};

const FUNCTIONS = Object.keys(EXPECTED_GRANTS);

const run = promisify(execFile);

let folder: string;
let template: Template;
let source: ServerlessSource;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'fleet-login-package-'));
  source = await readServerlessSource(process.cwd());
  template = await packageService(process.cwd(), folder);
}, 180_000);

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** Returns the Lambda function resource named `<service>-<stage>-<name>`. */
function lambdaFunction(name: string): Resource {
  const found = resourcesOfType(template, 'AWS::Lambda::Function').find(
    ([, resource]) => propertyOf(resource, 'FunctionName') === `${PREFIX}-${name}`,
  );
  if (!found) throw new Error(`function ${name} is not in the template`);
  return found[1];
}

function roleIdOf(name: string): string {
  const role = propertyOf<{ 'Fn::GetAtt'?: [string, string] }>(lambdaFunction(name), 'Role');
  const id = role['Fn::GetAtt']?.[0];
  if (!id) throw new Error(`function ${name} does not name a role of this stack`);
  return id;
}

function allStatements(): { owner: string; statement: Statement }[] {
  const fromRoles = resourcesOfType(template, 'AWS::IAM::Role').flatMap(([id]) =>
    roleStatements(template, id).map((statement) => ({ owner: id, statement })),
  );
  const fromBuckets = resourcesOfType(template, 'AWS::S3::BucketPolicy').flatMap(([id, resource]) => {
    const document = resolve(template, propertyOf(resource, 'PolicyDocument')) as { Statement: Statement[] };
    return document.Statement.map((statement) => ({ owner: id, statement }));
  });
  return [...fromRoles, ...fromBuckets];
}

function bucketPolicyOf(bucketId: string): Statement[] {
  const found = resourcesOfType(template, 'AWS::S3::BucketPolicy').find(
    ([, resource]) => (propertyOf<{ Ref?: string }>(resource, 'Bucket').Ref ?? '') === bucketId,
  );
  if (!found) return [];
  return (resolve(template, propertyOf(found[1], 'PolicyDocument')) as { Statement: Statement[] }).Statement;
}

describe('serverless.yml IAM roles', () => {
  it('gives every function a role of its own', () => {
    const roles = FUNCTIONS.map(roleIdOf);

    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    expect(resourcesOfType(template, 'AWS::Lambda::Function')).toHaveLength(FUNCTIONS.length);
  });

  it.each(FUNCTIONS)('grants %s exactly the expected actions', (name) => {
    const granted = Object.keys(grantsOf(roleStatements(template, roleIdOf(name)))).sort();

    expect(granted).toEqual(Object.keys(EXPECTED_GRANTS[name] ?? {}).sort());
  });

  it.each(FUNCTIONS)('scopes %s actions to the expected resources', (name) => {
    const granted = grantsOf(roleStatements(template, roleIdOf(name)));
    const expected = Object.fromEntries(
      Object.entries(EXPECTED_GRANTS[name] ?? {}).map(([action, resources]) => [
        action,
        [...resources].sort(),
      ]),
    );

    expect(granted).toEqual(expected);
  });

  it('grants rotate-certs the store SSM actions', () => {
    const granted = Object.keys(grantsOf(roleStatements(template, roleIdOf('rotate-certs'))));

    expect(granted.filter((action) => action.startsWith('ssm:')).sort()).toEqual([...SSM_ACTIONS].sort());
  });

  it('allows no wildcard actions', () => {
    const wildcards = allStatements()
      .filter(({ statement }) => statement.Effect === 'Allow')
      .flatMap(({ owner, statement }) => asList(statement.Action).map((action) => `${owner} ${action}`))
      .filter((entry) => entry.includes('*'));

    expect(wildcards).toEqual([]);
  });

  it('limits bare * resources to EC2 Describe', () => {
    const bare = allStatements()
      .filter(({ statement }) => statement.Effect === 'Allow' && asList(statement.Resource).includes('*'))
      .flatMap(({ statement }) => asList(statement.Action));

    expect([...new Set(bare)].sort()).toEqual(['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets']);
  });

  it('limits KMS to the SSM parameters read', () => {
    for (const name of FUNCTIONS) {
      const statements = roleStatements(template, roleIdOf(name));
      const parameters = grantsOf(statements)['ssm:GetParameters'] ?? [];
      for (const statement of kmsStatements(statements, `ssm.${REGION}.amazonaws.com`)) {
        const context = { ...statement.Condition?.StringEquals, ...statement.Condition?.StringLike };

        expect(asList(context['kms:EncryptionContext:PARAMETER_ARN']).sort(), name).toEqual(parameters);
      }
    }
  });

  it('limits KMS through SNS to the topic key', () => {
    const publishers = FUNCTIONS.filter((name) => EXPECTED_GRANTS[name]?.['sns:Publish'] !== undefined);

    expect(publishers).toEqual(['publish-bundles', 'emergency-keys', 'rotate-certs']);
    for (const name of publishers) {
      const [statement, ...others] = kmsStatements(
        roleStatements(template, roleIdOf(name)),
        `sns.${REGION}.amazonaws.com`,
      );

      expect(others, name).toEqual([]);
      expect(asList(statement?.Action).sort(), name).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(statement?.Resource, name).toBe(TOPIC_KEY);
    }
  });

  it('routes every KMS grant through SSM or SNS', () => {
    for (const name of FUNCTIONS) {
      const statements = roleStatements(template, roleIdOf(name));
      const kms = statements.filter((each) =>
        asList(each.Action).some((action) => action.startsWith('kms:')),
      );
      const routed = [
        ...kmsStatements(statements, `ssm.${REGION}.amazonaws.com`),
        ...kmsStatements(statements, `sns.${REGION}.amazonaws.com`),
      ];

      expect(routed.length, name).toBe(kms.length);
    }
  });
});

/** Returns the statements granting KMS actions only through `service`, by their kms:ViaService condition. */
function kmsStatements(statements: readonly Statement[], service: string): Statement[] {
  return statements.filter(
    (statement) =>
      asList(statement.Action).some((action) => action.startsWith('kms:')) &&
      statement.Condition?.StringEquals?.['kms:ViaService'] === service,
  );
}

describe('serverless.yml buckets', () => {
  const buckets = () => resourcesOfType(template, 'AWS::S3::Bucket');

  it('blocks public access on every bucket', () => {
    expect(buckets().length).toBeGreaterThanOrEqual(4);
    for (const [id, bucket] of buckets()) {
      expect(propertyOf(bucket, 'PublicAccessBlockConfiguration'), id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  it('denies non-TLS requests on every bucket', () => {
    for (const [id] of buckets()) {
      const arn = `arn:aws:s3:::${resolveString(template, { Ref: id })}`;
      const denies = bucketPolicyOf(id).filter(
        (statement) =>
          statement.Effect === 'Deny' &&
          statement.Principal === '*' &&
          (statement.Condition?.Bool?.['aws:SecureTransport'] === 'false' ||
            statement.Condition?.Bool?.['aws:SecureTransport'] === false),
      );
      const covered = denies.flatMap((statement) => asList(statement.Resource as string | string[]));

      expect(covered, id).toEqual(expect.arrayContaining([arn, `${arn}/*`]));
      expect(
        denies.flatMap((statement) => asList(statement.Action)),
        id,
      ).toContain('s3:*');
    }
  });

  it('encrypts every bucket at rest', () => {
    for (const [id, bucket] of buckets()) {
      const encryption = propertyOf<{ ServerSideEncryptionConfiguration: unknown[] }>(
        bucket,
        'BucketEncryption',
      );
      expect(encryption?.ServerSideEncryptionConfiguration.length ?? 0, id).toBeGreaterThan(0);
    }
  });

  it('versions the bundle bucket', () => {
    const bundle = template.Resources.BundleBucket;

    expect(propertyOf(bundle, 'VersioningConfiguration')).toEqual({ Status: 'Enabled' });
  });

  it('lets only the host role read bundles', () => {
    const allows = bucketPolicyOf('BundleBucket').filter((statement) => statement.Effect === 'Allow');

    expect(allows).toHaveLength(1);
    expect(allows[0]?.Principal).toEqual({ AWS: HOST_ROLE });
    expect(allows[0]?.Action).toBe('s3:GetObject');
    expect(asList(allows[0]?.Resource as string[]).sort()).toEqual([
      `${BUNDLES}/files/*`,
      `${BUNDLES}/manifests/*`,
    ]);
  });

  it.each([
    ['InboxBucket', ['inbox/', 'processed/', 'publish-requests/']],
    ['AuditBucket', ['audit/', 'emergency-key-history/']],
  ])('gives %s lifecycle rules for %j', (id, prefixes) => {
    const lifecycle = propertyOf<{ Rules: { Prefix?: string; Status: string }[] }>(
      template.Resources[id],
      'LifecycleConfiguration',
    );

    expect(lifecycle.Rules.filter((rule) => rule.Status === 'Enabled').map((rule) => rule.Prefix)).toEqual(
      prefixes,
    );
  });
});

describe('serverless.yml triggers', () => {
  const functionArn = (name: string) =>
    `getatt:${Object.keys(template.Resources).find((id) => template.Resources[id] === lambdaFunction(name))}.Arn`;

  it('routes inbox prefixes to their functions', () => {
    const notifications = resolve(
      template,
      propertyOf(template.Resources.InboxBucket, 'NotificationConfiguration'),
    ) as {
      LambdaConfigurations: {
        Event: string;
        Function: string;
        Filter: { S3Key: { Rules: { Value: string }[] } };
      }[];
    };
    const routes = notifications.LambdaConfigurations.map((entry) => [
      entry.Filter.S3Key.Rules.map((rule) => rule.Value).join(','),
      entry.Function,
      entry.Event,
    ]);

    expect(routes).toEqual([
      ['inbox/', functionArn('sync-directory'), 's3:ObjectCreated:*'],
      ['publish-requests/', functionArn('publish-bundles'), 's3:ObjectCreated:*'],
    ]);
  });

  it('lets only this inbox bucket invoke them', () => {
    const permissions = ['SyncDirectoryInboxPermission', 'PublishBundlesInboxPermission'].map((id) =>
      resolve(template, template.Resources[id]?.Properties),
    );

    for (const permission of permissions) {
      expect(permission).toMatchObject({
        Principal: 's3.amazonaws.com',
        SourceArn: INBOX,
        SourceAccount: ACCOUNT_ID,
      });
    }
  });

  it('runs publish-bundles alone, every 15 minutes', () => {
    const schedules = resourcesOfType(template, 'AWS::Events::Rule').map(([, rule]) =>
      propertyOf(rule, 'ScheduleExpression'),
    );

    expect(propertyOf(lambdaFunction('publish-bundles'), 'ReservedConcurrentExecutions')).toBe(1);
    expect(schedules).toContain('rate(15 minutes)');
  });

  it.each([
    ['sync-directory', 'SyncDashdirectoryLambdaFunction'],
    ['emergency-keys', 'EmergencyDashkeysLambdaFunction'],
  ])('queues failed %s events with an alarm', (name, functionId) => {
    const [, invokeConfig] = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').find(
      ([, config]) => (propertyOf<{ Ref: string }>(config, 'FunctionName').Ref ?? '') === functionId,
    ) ?? [undefined, undefined];
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) =>
      resolve(template, alarm.Properties),
    );

    expect(resolve(template, invokeConfig?.Properties)).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: failureQueue(name) } },
    });
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: `${PREFIX}-${name}-failures` }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [TOPIC],
      }),
    );
  });

  it('keeps sync-directory to one invocation', () => {
    expect(propertyOf(lambdaFunction('sync-directory'), 'ReservedConcurrentExecutions')).toBe(1);
  });

  it('keeps failed events for 14 days, encrypted', () => {
    for (const name of ['sync-directory', 'emergency-keys']) {
      const [, queue] = resourcesOfType(template, 'AWS::SQS::Queue').find(
        ([, each]) => propertyOf(each, 'QueueName') === `${PREFIX}-${name}-failures`,
      ) ?? [undefined, undefined];

      expect(propertyOf(queue, 'MessageRetentionPeriod'), name).toBe(14 * 24 * 60 * 60);
      expect(propertyOf(queue, 'SqsManagedSseEnabled'), name).toBe(true);
    }
  });

  it('puts only the LDAP functions in the VPC', () => {
    const inVpc = FUNCTIONS.filter((name) => propertyOf(lambdaFunction(name), 'VpcConfig') !== undefined);

    expect(inVpc).toEqual(['sync-directory', 'publish-bundles']);
    expect(resolve(template, propertyOf(lambdaFunction('sync-directory'), 'VpcConfig'))).toEqual({
      SecurityGroupIds: ['sg-0123456789abcdef0'],
      SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
    });
  });

  it('runs every function on nodejs22.x for arm64', () => {
    for (const name of FUNCTIONS) {
      expect(propertyOf(lambdaFunction(name), 'Runtime'), name).toBe('nodejs22.x');
      expect(propertyOf(lambdaFunction(name), 'Architectures'), name).toEqual(['arm64']);
    }
  });
});

describe('serverless.yml on-call topic', () => {
  it('encrypts the topic with its own key', () => {
    const topic = resolve(template, template.Resources.OnCallTopic?.Properties) as Record<string, unknown>;
    const key = template.Resources.OnCallTopicKey;

    expect(topic.KmsMasterKeyId).toBe(TOPIC_KEY);
    expect(key?.Type).toBe('AWS::KMS::Key');
    expect(propertyOf(key, 'EnableKeyRotation')).toBe(true);
  });

  it('lets only this stack alarms use the key', () => {
    const policy = resolve(template, propertyOf(template.Resources.OnCallTopicKey, 'KeyPolicy')) as {
      Statement: Statement[];
    };
    const forCloudWatch = policy.Statement.filter(
      (statement) =>
        JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );

    expect(forCloudWatch).toHaveLength(1);
    expect(asList(forCloudWatch[0]?.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(forCloudWatch[0]?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${PREFIX}-*` },
    });
  });

  it('names every alarm inside the key policy pattern', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) =>
      resolveString(template, propertyOf(alarm, 'AlarmName')),
    );

    expect(alarms.length).toBeGreaterThan(0);
    for (const name of alarms) expect(name.startsWith(`${PREFIX}-`), name).toBe(true);
  });
});

describe('serverless.yml HTTP API', () => {
  const stage = () =>
    resolve(template, template.Resources.HttpApiStage?.Properties) as Record<string, unknown>;

  it('throttles every route by the stage parameters', () => {
    const defaults = source.params.default;

    expect(stage().DefaultRouteSettings).toEqual({
      DetailedMetricsEnabled: false,
      ThrottlingBurstLimit: Number(defaults.apiThrottleBurst),
      ThrottlingRateLimit: Number(defaults.apiThrottleRatePerSecond),
    });
    expect(Number(defaults.apiThrottleBurst)).toBeGreaterThanOrEqual(
      Number(defaults.apiThrottleRatePerSecond),
    );
    expect(Number(defaults.apiThrottleRatePerSecond)).toBeGreaterThan(0);
  });

  it('writes access logs to a kept log group', () => {
    const logGroup = resolve(template, template.Resources.HttpApiLogGroup?.Properties) as Record<
      string,
      unknown
    >;
    const settings = stage().AccessLogSettings as { DestinationArn: string; Format: string };

    expect(settings.DestinationArn).toBe('getatt:HttpApiLogGroup.Arn');
    expect(logGroup.RetentionInDays).toBe(Number(source.params.default.apiAccessLogRetentionDays));
    expect(Object.keys(JSON.parse(settings.Format))).toEqual(
      expect.arrayContaining(['requestId', 'ip', 'routeKey', 'status', 'integrationError']),
    );
  });

  it('keeps headers and bodies out of access logs', () => {
    const settings = stage().AccessLogSettings as { Format: string };

    expect(settings.Format).not.toMatch(/\$request\.|\$context\.authorizer|header|body/i);
  });
});

type Loader = (env: NodeJS.ProcessEnv) => unknown;

/** The settings readers each function's code calls, with its environment. */
const LOADERS: Record<string, Loader[]> = {
  'okta-hook': [loadConfig],
  'hr-hook': [loadConfig],
  'sync-directory': [loadConfig],
  'publish-bundles': [loadConfig],
  'emergency-keys': [loadConfig],
  'rotate-certs': [(env) => createRotationSetup(env)],
};

/** The settings each function's readers return, compared to check the stage parameters' defaults. */
const SETTINGS: Record<string, Loader> = {
  ...Object.fromEntries(Object.keys(LOADERS).map((name) => [name, loadConfig])),
  'rotate-certs': loadPkiConfig,
};

/** Every variable each function's readers may read, as the config modules list them. */
const READABLE: Record<string, readonly string[]> = {
  ...Object.fromEntries(Object.keys(LOADERS).map((name) => [name, CONFIG_VARIABLES])),
  'rotate-certs': [...PKI_CONFIG_VARIABLES, 'ALERT_TOPIC_ARN'],
};

/** Variables the code reads that a deployed function must not set. */
const NOT_SET_IN_LAMBDA = [
  // Lambda sets it and rejects it in a function's environment.
  'AWS_REGION',
  // An S3-compatible endpoint, for tests and local runs only.
  'S3_ENDPOINT',
  // Local stand-ins for S3 and SSM, read only when OBJECT_STORE or PARAMETER_STORE picks them.
  'LOCAL_STORE_DIR',
  'LOCAL_PARAMETER_FILE',
];

/** The hooks and emergency-keys never open the directory, so its settings would be unused. */
const NEVER_OPENS_DIRECTORY = ['DIRECTORY_STORE', 'EMBEDDED_DIRECTORY_FILE', ...LDAP_CONFIG_VARIABLES];

/** Variables loadConfig reads that a function leaves unset because it never uses them. */
const LEFT_UNSET: Record<string, readonly string[]> = {
  // Only publish-bundles, emergency-keys and rotate-certs send alerts.
  'okta-hook': [...NEVER_OPENS_DIRECTORY, 'ALERT_TOPIC_ARN'],
  'hr-hook': [...NEVER_OPENS_DIRECTORY, 'ALERT_TOPIC_ARN'],
  'sync-directory': ['EMBEDDED_DIRECTORY_FILE', 'ALERT_TOPIC_ARN'],
  'publish-bundles': ['EMBEDDED_DIRECTORY_FILE'],
  'emergency-keys': NEVER_OPENS_DIRECTORY,
  'rotate-certs': [],
};

/** Variables whose value the stack fixes: its buckets, topic, parameter names and store kinds. */
const FIXED_BY_STACK =
  /^(OBJECT_STORE|PARAMETER_STORE|DIRECTORY_STORE|ALERT_TOPIC_ARN|.*_BUCKET|.*_PARAMETER|PKI_PARAMETER_PREFIX)$/;
/** Stage parameters without a default, because they name resources each stage must choose. */
const REQUIRED_STAGE_PARAMETERS = [
  'emergencyBucket',
  'oktaOrgUrl',
  'ldapUrl',
  'ldapBindDn',
  'ldapPeopleBase',
  'ldapGroupsBase',
  'ldapCounterDn',
  'pkiServerDnsNames',
];

/** Lambda's limit on the total size of a function's environment variables, names and values. */
const LAMBDA_ENVIRONMENT_BYTES = 4 * 1024;

/** The SSM parameters each function fetches, by the variable that names them. */
const FETCHED_PARAMETERS: Record<string, string[]> = {
  'okta-hook': ['OKTA_HOOK_SECRET_PARAMETER'],
  'hr-hook': ['HR_HOOK_SECRET_PARAMETER'],
  'sync-directory': ['OKTA_API_TOKEN_PARAMETER', 'HR_API_KEY_PARAMETER', 'LDAP_BIND_PASSWORD_PARAMETER'],
  'publish-bundles': ['SIGNING_KEY_PARAMETER', 'LDAP_BIND_PASSWORD_PARAMETER'],
  'emergency-keys': [],
};

function environmentOf(name: string): Record<string, string> {
  const environment = propertyOf<{ Variables: Record<string, unknown> } | undefined>(
    lambdaFunction(name),
    'Environment',
  );
  return resolve(template, environment?.Variables ?? {}) as Record<string, string>;
}

/** Runs the loaders on the environment and returns the names they read. */
function readVariables(loaders: readonly Loader[], environment: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(environment, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return typeof key === 'string' ? target[key] : undefined;
    },
  });
  for (const loader of loaders) loader(recording);
  return read;
}

describe('serverless.yml function settings', () => {
  it.each(Object.keys(LOADERS))('gives %s every setting its code requires', (name) => {
    const environment = environmentOf(name);

    expect(() => readVariables(LOADERS[name] ?? [], environment)).not.toThrow();
  });

  it.each(Object.keys(LOADERS))('sets only variables %s reads', (name) => {
    const environment = environmentOf(name);
    const read = readVariables(LOADERS[name] ?? [], environment);

    expect(Object.keys(environment).filter((variable) => !read.has(variable))).toEqual([]);
    expect(Object.keys(environment).filter((variable) => NOT_SET_IN_LAMBDA.includes(variable))).toEqual([]);
  });

  it.each(Object.keys(LOADERS))('sets every variable %s reads', (name) => {
    const environment = environmentOf(name);
    const read = readVariables(LOADERS[name] ?? [], environment);
    const unset = [...NOT_SET_IN_LAMBDA, ...(LEFT_UNSET[name] ?? [])];

    expect([...read].filter((variable) => !(variable in environment) && !unset.includes(variable))).toEqual(
      [],
    );
    expect([...read].filter((variable) => !READABLE[name]?.includes(variable))).toEqual([]);
  });

  it.each(Object.keys(LOADERS))('sets %s one to one with the config lists', (name) => {
    const unset = [...NOT_SET_IN_LAMBDA, ...(LEFT_UNSET[name] ?? [])];
    const expected = (READABLE[name] ?? []).filter((variable) => !unset.includes(variable));

    expect(Object.keys(environmentOf(name)).sort()).toEqual([...new Set(expected)].sort());
  });

  it.each(Object.keys(LOADERS))('reads each setting of %s from a stage parameter', (name) => {
    const written = source.functions[name]?.environment ?? {};
    const notFromParameter = Object.entries(written)
      .filter(([variable, value]) => !FIXED_BY_STACK.test(variable) && stageParameterOf(value) === undefined)
      .map(([variable]) => variable);
    const withoutDefault = Object.values(written)
      .map(stageParameterOf)
      .filter((parameter) => parameter !== undefined)
      .filter((parameter) => !(parameter in source.params.default))
      .filter((parameter) => !REQUIRED_STAGE_PARAMETERS.includes(parameter));

    expect(notFromParameter).toEqual([]);
    expect(withoutDefault).toEqual([]);
  });

  it.each(Object.keys(LOADERS))('gives %s the code defaults', (name) => {
    const written = source.functions[name]?.environment ?? {};
    const environment = environmentOf(name);
    const defaulted = Object.entries(written)
      .filter(([, value]) => (stageParameterOf(value) ?? '') in source.params.default)
      .map(([variable]) => variable);
    const codeDefaults = Object.fromEntries(
      Object.entries(environment).filter(([variable]) => !defaulted.includes(variable)),
    );
    const load = SETTINGS[name] as Loader;

    expect(defaulted.length).toBeGreaterThan(0);
    expect(load(environment)).toEqual(load(codeDefaults));
  });

  it.each(Object.keys(LOADERS))('keeps %s environment within Lambda limit', (name) => {
    const size = Object.entries(environmentOf(name)).reduce(
      (total, [variable, value]) => total + Buffer.byteLength(variable) + Buffer.byteLength(value),
      0,
    );

    expect(size).toBeLessThanOrEqual(LAMBDA_ENVIRONMENT_BYTES);
  });

  it.each(Object.keys(FETCHED_PARAMETERS))('points %s at S3, SSM and the stack buckets', (name) => {
    const config = loadConfig(environmentOf(name));

    expect(config.objectStore).toEqual({ kind: 's3' });
    expect(config.parameters).toEqual({ kind: 'ssm' });
    expect(config.buckets).toEqual({
      bundles: BUNDLES.slice('arn:aws:s3:::'.length),
      inbox: INBOX.slice('arn:aws:s3:::'.length),
      audit: AUDIT.slice('arn:aws:s3:::'.length),
      emergency: EMERGENCY.slice('arn:aws:s3:::'.length),
    });
  });

  it.each(['sync-directory', 'publish-bundles'])('gives %s the LDAP client certificate', (name) => {
    const config = loadConfig(environmentOf(name));
    const pkiPrefix = environmentOf('rotate-certs').PKI_PARAMETER_PREFIX;
    const granted = grantsOf(roleStatements(template, roleIdOf(name)))['ssm:GetParameters'] ?? [];
    const pointerAndClientPair = ['active', 'trust-bundle', 'client/cert', 'client/key'].map(
      (suffix) => `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter${pkiPrefix}/${suffix}`,
    );

    if (config.directory.kind !== 'ldap') throw new Error(`${name} does not use the LDAP directory`);
    expect(config.directory.settings.pkiPrefix).toBe(pkiPrefix);
    expect(granted).toEqual(expect.arrayContaining(pointerAndClientPair));
  });

  it.each(['okta-hook', 'hr-hook', 'emergency-keys'])('leaves %s without directory settings', (name) => {
    const environment = environmentOf(name);

    expect(Object.keys(environment).filter((variable) => /^(LDAP_|DIRECTORY_STORE)/.test(variable))).toEqual(
      [],
    );
  });

  it.each(['publish-bundles', 'emergency-keys', 'rotate-certs'])('sends %s alerts to on-call', (name) => {
    const granted = grantsOf(roleStatements(template, roleIdOf(name)))['sns:Publish'];

    expect(environmentOf(name).ALERT_TOPIC_ARN).toBe(TOPIC);
    expect(granted).toEqual([TOPIC]);
  });

  it.each(Object.keys(FETCHED_PARAMETERS))('lets %s read its named parameters', (name) => {
    const environment = environmentOf(name);
    const granted = grantsOf(roleStatements(template, roleIdOf(name)))['ssm:GetParameters'] ?? [];
    const named = (FETCHED_PARAMETERS[name] ?? []).map(
      (variable) => `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter${environment[variable]}`,
    );

    expect(granted).toEqual(expect.arrayContaining(named));
  });

  it('limits rotate-certs writes to its prefix', () => {
    const prefix = environmentOf('rotate-certs').PKI_PARAMETER_PREFIX;
    const granted = grantsOf(roleStatements(template, roleIdOf('rotate-certs')))['ssm:PutParameter'];

    expect(granted).toEqual([`arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter${prefix}/*`]);
  });
});

describe('serverless.yml packages', () => {
  it('packages loadable ESM handlers and policy', async () => {
    const names = Object.keys(LOADERS);
    const extracted = join(folder, 'extracted');
    for (const name of names) {
      await run('python3', [
        '-m',
        'zipfile',
        '-e',
        join(folder, 'artifacts', `${name}.zip`),
        join(extracted, name),
      ]);
    }
    // Each handler module is imported in a clean environment, as a cold start would.
    const script = names
      .map(
        (name) =>
          `(await import(${JSON.stringify(join(extracted, name, 'functions', `${name}.mjs`))})).handler`,
      )
      .map((expression) => `typeof ${expression}`)
      .join(', ');
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', `console.log([${script}].join(' '))`],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        cwd: extracted,
      },
    );

    expect(stdout.trim()).toBe(names.map(() => 'function').join(' '));
    for (const name of names) {
      expect(propertyOf(lambdaFunction(name), 'Handler')).toBe(`functions/${name}.handler`);
      await expect(stat(join(extracted, name, 'config/host-classes.yaml'))).resolves.toBeTruthy();
    }
  }, 60_000);
});
