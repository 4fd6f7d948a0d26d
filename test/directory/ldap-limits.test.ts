import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapStore } from '../../shared/directory/ldap-store.ts';
import { DirectoryError } from '../../shared/errors.ts';
import { generateDirectoryLdif } from '../fixtures/ldap/generate.ts';
import {
  fixture,
  PEOPLE_BASE,
  READER_DN,
  READER_PASSWORD,
  SUFFIX,
  storeOptions,
} from '../fixtures/ldap/store.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';

const PEOPLE = 30;
const SIZE_LIMIT = 10;
const EMPTY_BASE = `ou=nobody,${SUFFIX}`;
const REFERRED_BASE = `ou=referred,${SUFFIX}`;
/** A branch holding a referral, which slapd returns as a search continuation reference. */
const REFERRED_LDIF = `dn: ${REFERRED_BASE}
objectClass: organizationalUnit
ou: referred

dn: ou=elsewhere,${REFERRED_BASE}
objectClass: referral
objectClass: extensibleObject
ou: elsewhere
ref: ldap://ldap.invalid/ou=people,dc=example,dc=test
`;

describe('LdapStore snapshot limits', () => {
  let server: SlapdServer;

  beforeAll(async () => {
    const emptyBranch = `dn: ${EMPTY_BASE}\nobjectClass: organizationalUnit\nou: nobody\n`;
    server = await startSlapd({
      suffix: SUFFIX,
      ldif: [
        fixture('base.ldif'),
        emptyBranch,
        REFERRED_LDIF,
        generateDirectoryLdif({ suffix: SUFFIX, people: PEOPLE, groups: 3 }),
      ],
      sizeLimit: SIZE_LIMIT,
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** Creates a store bound as the reader, whom slapd's sizelimit applies to, unlike the rootdn. */
  function readerStore(pageSize: number, people = PEOPLE_BASE): LdapStore {
    return new LdapStore(
      storeOptions(server, {
        bindDn: READER_DN,
        bindPassword: READER_PASSWORD,
        pageSize,
        bases: { people, groups: `ou=groups,${SUFFIX}` },
      }),
    );
  }

  it('fails an unpaged read at the server size limit', async () => {
    const error = await readerStore(0)
      .snapshot()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DirectoryError);
    const message = (error as Error).message;
    expect(message).toContain(PEOPLE_BASE);
    expect(message).toContain(server.url);
    expect(message).toMatch(/size limit was reached/);
  });

  it('reads every entry past the size limit with paging', async () => {
    const snapshot = await readerStore(SIZE_LIMIT - 3).snapshot();
    expect(snapshot.people).toHaveLength(PEOPLE);
    expect(new Set(snapshot.people.map((person) => person.username)).size).toBe(PEOPLE);
    expect(snapshot.groups.flatMap((group) => group.members)).toHaveLength(PEOPLE);
  });

  it('returns an empty snapshot for an empty people branch', async () => {
    const snapshot = await readerStore(SIZE_LIMIT - 3, EMPTY_BASE).snapshot();
    expect(snapshot.people).toEqual([]);
    expect(snapshot.groups).toHaveLength(3);
  });

  it('fails, rather than reading nobody, when the people base is missing', async () => {
    const error = await readerStore(SIZE_LIMIT - 3, `ou=missing,${SUFFIX}`)
      .snapshot()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DirectoryError);
    expect((error as Error).message).toContain(`ou=missing,${SUFFIX}`);
  });

  it('fails instead of skipping entries behind a referral', async () => {
    const error = await readerStore(SIZE_LIMIT - 3, REFERRED_BASE)
      .snapshot()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DirectoryError);
    expect((error as Error).message).toMatch(/referrals/);
  });
});
