import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HrDouble, startHrDouble } from '../../local/hr-double.ts';
import { EmbeddedDirectoryStore } from '../../shared/directory/embedded-store.ts';
import { syncHrEntry } from '../../shared/directory/hr-sync.ts';
import { silentLog } from '../../shared/log.ts';
import { HrClient } from '../../shared/sources/hr-api.ts';
import type { HrInboxEntry } from '../../shared/sources/hr-events.ts';
import { tempDir } from '../helpers/temp.ts';

let hr: HrDouble;
beforeEach(async () => {
  hr = await startHrDouble();
});
afterEach(() => hr.close());

const NOW = new Date('2026-12-04T12:00:00Z');

function entry(overrides: Partial<HrInboxEntry> = {}): HrInboxEntry {
  return {
    source: 'hr',
    id: 'e1',
    employeeId: '1187',
    action: 'updated',
    eventTime: NOW.toISOString(),
    receivedAt: NOW.toISOString(),
    ...overrides,
  };
}

/** With `api: false` the HR API is not configured, so field-based entries are applied as they come. */
async function setup(matchKey: 'workEmail' | 'employeeNumber' = 'workEmail', api = false) {
  const store = new EmbeddedDirectoryStore(join(await tempDir(), 'directory.json'));
  await store.createPerson({
    username: 'jane.doe',
    displayName: 'Jane Doe',
    email: 'jane.doe@example.test',
    sourceId: '00uJANE',
    status: 'active',
    sshPublicKeys: ['ssh-ed25519 AAAA jane'],
  });
  const resynced: string[] = [];
  const deps = {
    store,
    ...(api ? { hr: new HrClient({ apiUrl: hr.url, apiKey: hr.apiKey, groupField: 'department' }) } : {}),
    settings: { matchKey, groupPrefix: 'dept-' },
    log: silentLog,
    now: () => NOW,
    resyncFromOkta: async (id: string) => void resynced.push(id),
  };
  return { store, resynced, sync: (e: HrInboxEntry) => syncHrEntry(e, deps) };
}

describe('syncHrEntry', () => {
  it('reads an event-based change back from the HR API and applies the department group', async () => {
    const { store, sync } = await setup('workEmail', true);
    hr.setEmployee('1187', {
      workEmail: 'Jane.Doe@example.test',
      status: 'Active',
      department: 'Site Reliability',
    });
    expect(await sync(entry())).toMatchObject([
      { action: 'updated', changes: ['+group dept-site-reliability'] },
    ]);
    expect(await store.groupsOf('jane.doe')).toEqual(['dept-site-reliability']);
  });

  it('moves the person when the department changes', async () => {
    const { store, sync } = await setup();
    await sync(entry({ fields: { workEmail: 'jane.doe@example.test', status: 'Active', group: 'SRE' } }));
    await sync(
      entry({ fields: { workEmail: 'jane.doe@example.test', status: 'Active', group: 'Security' } }),
    );
    expect(await store.groupsOf('jane.doe')).toEqual(['dept-security']);
  });

  it.each([
    ['an Inactive status', { status: 'Inactive' }],
    ['a termination date that has passed', { status: 'Active', terminationDate: '2026-12-03' }],
  ])('disables the person on %s, dropping keys and groups', async (_case, fields) => {
    const { store, sync } = await setup();
    await sync(entry({ fields: { workEmail: 'jane.doe@example.test', status: 'Active', group: 'SRE' } }));
    await sync(entry({ fields: { workEmail: 'jane.doe@example.test', ...fields } }));
    expect(await store.findPerson('jane.doe')).toMatchObject({
      status: 'disabled',
      hrStatus: 'terminated',
      sshPublicKeys: [],
    });
    expect(await store.groupsOf('jane.doe')).toEqual([]);
  });

  it('keeps access while the termination date is still ahead', async () => {
    const { store, sync } = await setup();
    await sync(
      entry({
        fields: { workEmail: 'jane.doe@example.test', status: 'Active', terminationDate: '2026-12-31' },
      }),
    );
    expect(await store.findPerson('jane.doe')).toMatchObject({ status: 'active' });
  });

  it('treats a deleted employee as terminated', async () => {
    const { store, sync } = await setup();
    await sync(entry({ action: 'deleted', fields: { workEmail: 'jane.doe@example.test' } }));
    expect(await store.findPerson('jane.doe')).toMatchObject({ status: 'disabled', hrStatus: 'terminated' });
  });

  it('asks for an Okta resync when HR makes a terminated person active again', async () => {
    const { resynced, store, sync } = await setup();
    await sync(entry({ fields: { workEmail: 'jane.doe@example.test', status: 'Inactive' } }));
    await sync(entry({ fields: { workEmail: 'jane.doe@example.test', status: 'Active' } }));
    expect((await store.findPerson('jane.doe'))?.hrStatus).toBe('active');
    expect(resynced).toEqual(['00uJANE']);
  });

  it('matches by employee number first when configured', async () => {
    const { store, sync } = await setup('employeeNumber');
    await store.updatePerson('jane.doe', { employeeNumber: 'E-77' });
    await sync(
      entry({
        fields: { employeeNumber: 'E-77', workEmail: 'someone.else@example.test', status: 'Inactive' },
      }),
    );
    expect((await store.findPerson('jane.doe'))?.status).toBe('disabled');
  });

  it('skips an employee with no directory person', async () => {
    const { sync } = await setup();
    expect(
      await sync(entry({ fields: { workEmail: 'nobody@example.test', status: 'Inactive' } })),
    ).toMatchObject([{ action: 'skipped' }]);
  });

  it('fails with a retryable error when the HR API is down', async () => {
    const { sync } = await setup('workEmail', true);
    await hr.close();
    await expect(sync(entry())).rejects.toThrow(/HR API/);
    hr = await startHrDouble();
  });

  it('lets the HR API, not a late delivery, decide the state', async () => {
    const { store, sync } = await setup('workEmail', true);
    hr.setEmployee('1187', { workEmail: 'jane.doe@example.test', status: 'Inactive' });
    await sync(
      entry({
        eventTime: '2026-12-04T11:00:00Z',
        fields: { workEmail: 'jane.doe@example.test', status: 'Inactive' },
      }),
    );
    // An older delivery saying Active arrives late; the API still reports Inactive.
    await sync(
      entry({
        id: 'e0',
        eventTime: '2026-12-04T09:00:00Z',
        fields: { workEmail: 'jane.doe@example.test', status: 'Active' },
      }),
    );
    expect(await store.findPerson('jane.doe')).toMatchObject({ status: 'disabled', hrStatus: 'terminated' });
  });

  it('disables a person when HR no longer has the employee', async () => {
    const { store, sync } = await setup('workEmail', true);
    await sync(
      entry({ action: 'updated', fields: { workEmail: 'jane.doe@example.test', status: 'Active' } }),
    );
    expect(await store.findPerson('jane.doe')).toMatchObject({ status: 'disabled' });
  });

  it('ends access when either status field says inactive', async () => {
    const { store, sync } = await setup();
    await sync(
      entry({
        fields: { workEmail: 'jane.doe@example.test', status: 'Inactive', employmentStatus: 'Full-Time' },
      }),
    );
    expect((await store.findPerson('jane.doe'))?.status).toBe('disabled');
  });

  it('needs the HR API for an entry that carries ids only', async () => {
    const { sync } = await setup();
    await expect(sync(entry())).rejects.toThrow(/HR_API_URL is not set/);
  });

  it('terminates every person who shares the email', async () => {
    const { store, sync } = await setup();
    await store.createPerson({
      username: 'jane.admin',
      displayName: 'Jane Doe (admin)',
      email: 'Jane.Doe@example.test',
      sourceId: '00uJANEADM',
      status: 'active',
      sshPublicKeys: ['ssh-ed25519 AAAA admin'],
    });
    const outcomes = await sync(
      entry({ fields: { workEmail: 'jane.doe@example.test', status: 'Terminated' } }),
    );
    expect(outcomes.map((outcome) => outcome.username).sort()).toEqual(['jane.admin', 'jane.doe']);
    for (const name of ['jane.doe', 'jane.admin'])
      expect((await store.findPerson(name))?.status).toBe('disabled');
  });
});
