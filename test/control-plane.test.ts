import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSshKey } from '../local/ssh-keys.ts';
import type { Alert } from '../shared/alerts/alerter.ts';
import { loadConfig } from '../shared/config.ts';
import { previewPublish, publishAll } from '../shared/control-plane.ts';
import { PublishRefusedError } from '../shared/errors.ts';
import { silentLog } from '../shared/log.ts';
import { createRuntime } from '../shared/runtime.ts';
import { tempDir } from './helpers/temp.ts';

async function setup() {
  const dir = await tempDir();
  const signingKey = generateKeyPairSync('ed25519')
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  await writeFile(
    join(dir, 'parameters.json'),
    JSON.stringify({ '/fleet-login/bundle/signing-key': signingKey }),
  );
  const config = loadConfig({
    EMBEDDED_DIRECTORY_FILE: join(dir, 'directory.json'),
    LOCAL_STORE_DIR: join(dir, 'buckets'),
    LOCAL_PARAMETER_FILE: join(dir, 'parameters.json'),
  });
  const alerts: Alert[] = [];
  const runtime = createRuntime(config, { alerter: { send: async (alert) => void alerts.push(alert) } });
  const store = await runtime.openDirectory();
  const add = (username: string) =>
    store.createPerson({
      username,
      displayName: username,
      sourceId: `00u${username}`,
      status: 'active',
      sshPublicKeys: [generateSshKey(username).publicKey],
    });
  return { runtime, alerts, store, add };
}

describe('publishAll', () => {
  it('pages on-call and publishes nothing when a guard refuses', async () => {
    const { runtime, alerts, store, add } = await setup();
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) await add(name);
    await publishAll(runtime, silentLog);
    for (const name of ['a1', 'a2', 'a3']) await store.updatePerson(name, { status: 'disabled' });

    await expect(publishAll(runtime, silentLog)).rejects.toThrow(PublishRefusedError);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      severity: 'critical',
      subject: 'fleet-login publish refused: bundles not updated',
    });
    expect(alerts[0]?.message).toContain('general would go from 5 to 2 people');

    const confirmed = await publishAll(runtime, silentLog, { confirmShrink: true });
    expect(confirmed[0]).toMatchObject({ outcome: 'published', serial: 2, people: 2 });
  });

  it('puts the emergency bucket’s valid keys into classes that include them', async () => {
    const { runtime, add } = await setup();
    await add('ana');
    const policyFile = join(await tempDir(), 'policy.yaml');
    await writeFile(
      policyFile,
      'hostClasses:\n  ops: { allowGroups: ["*"], emergencyKeys: true }\n  dev: { allowGroups: ["*"] }\n',
    );
    const withPolicy = createRuntime(
      { ...runtime.config, policyFile },
      { openDirectory: runtime.openDirectory },
    );
    const breakGlass = generateSshKey('break-glass').publicKey;
    await withPolicy
      .bucket(runtime.config.buckets.emergency)
      .put('ops/root.pub', `${breakGlass}\nnot a key\n`);

    const preview = await previewPublish(withPolicy);
    expect(preview.classes.map((entry) => entry.hostClass)).toEqual(['ops', 'dev']);
    await publishAll(withPolicy, silentLog);
    const bundles = withPolicy.bucket(runtime.config.buckets.bundles);
    const manifest = await bundles.get('manifests/ops.json');
    const text = manifest.kind === 'found' ? manifest.body.toString() : '';
    expect(text).toContain('emergency_authorized_keys');
    const dev = await bundles.get('manifests/dev.json');
    expect(dev.kind === 'found' && dev.body.toString()).not.toContain('emergency_authorized_keys');
  });
});

describe('previewPublish', () => {
  it('shows who would gain and lose access without writing anything', async () => {
    const { runtime, store, add } = await setup();
    await add('ana');
    await add('ben');
    await publishAll(runtime, silentLog);
    await store.updatePerson('ben', { status: 'disabled' });
    await add('cy');

    const bundles = runtime.bucket(runtime.config.buckets.bundles);
    const before = await bundles.list('');
    const preview = await previewPublish(runtime);
    expect(preview.refusal).toBeUndefined();
    expect(preview.classes[0]).toMatchObject({
      hostClass: 'general',
      people: 2,
      diff: { added: ['cy'], removed: ['ben'] },
    });
    expect(await bundles.list('')).toEqual(before);
  });

  it('reports that a guard would refuse', async () => {
    const { runtime, store, add } = await setup();
    for (const name of ['a1', 'a2', 'a3', 'a4']) await add(name);
    await publishAll(runtime, silentLog);
    for (const name of ['a1', 'a2', 'a3']) await store.updatePerson(name, { status: 'disabled' });
    expect((await previewPublish(runtime)).refusal).toMatch(/general would go from 4 to 1 people/);
  });
});
