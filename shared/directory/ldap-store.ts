// The LDAP directory store: DirectoryStore over ldapts, one mutually authenticated connection per operation.

import { AlreadyExistsError, AndFilter, type Client, type Entry, EqualityFilter } from 'ldapts';
import { POSIX_NAME } from '../bundle/nss-maps.ts';
import { DirectoryError, ValidationError } from '../errors.ts';
import type { MemberMode } from './ldap-config.ts';
import type { LdapConnector } from './ldap-connection.ts';
import { allocateNumber, type CounterSettings } from './ldap-counter.ts';
import {
  allValues,
  daysSinceEpoch,
  firstRdn,
  firstValue,
  integerValue,
  type LdapAttributeNames,
  type LdapObjectClasses,
  newPersonAttributes,
  PERSON_FILTER,
  personAttributes,
  personFromEntry,
} from './ldap-entries.ts';
import { findGroupEntry, findPersonEntry, type LookupSettings } from './ldap-lookup.ts';
import {
  addMemberValue,
  groupsListing,
  type MemberIdentity,
  memberAttributeFor,
  removeMemberValues,
} from './ldap-members.ts';
import { type LdapStoreOptions, resolveStoreSettings } from './ldap-options.ts';
import { personChanges } from './ldap-person-changes.ts';
import {
  deleteIgnoringMissing,
  isMarkedPrivate,
  type PrivateGroupSettings,
  privateGroupNumber,
} from './ldap-private-groups.ts';
import { readSnapshot, type SnapshotSettings } from './ldap-snapshot.ts';
import type { DirectorySnapshot, DirectoryStore, Group, NewPerson, Person, PersonChanges } from './model.ts';

export type { LdapStoreOptions } from './ldap-options.ts';

export class LdapStore implements DirectoryStore {
  private readonly connector: LdapConnector;
  private readonly names: LdapAttributeNames;
  private readonly classes: LdapObjectClasses;
  private readonly lookup: LookupSettings;
  private readonly counter: CounterSettings;
  private readonly privateGroups: PrivateGroupSettings;
  private readonly snapshotSettings: SnapshotSettings;
  private readonly memberMode: MemberMode;
  private readonly now: () => Date;
  private closed = false;

  constructor(private readonly options: LdapStoreOptions) {
    const settings = resolveStoreSettings(options);
    this.connector = settings.connector;
    this.names = settings.names;
    this.classes = settings.classes;
    this.memberMode = settings.memberMode;
    this.now = settings.now;
    this.lookup = settings.lookup;
    this.snapshotSettings = settings.snapshot;
    this.privateGroups = settings.privateGroups;
    this.counter = settings.counter;
  }

  findPersonBySourceId(sourceId: string): Promise<Person | undefined> {
    return this.run(`finding the person with ${this.names.sourceId}=${sourceId}`, async (client) => {
      const entry = await findPersonEntry(
        client,
        this.lookup,
        this.names.sourceId,
        sourceId,
        this.personReadAttributes(),
      );
      return entry && this.toPerson(entry);
    });
  }

  /** Finds every person with the email (the mail attribute, matched without case) or HR employee number. */
  findPeopleBy(attribute: 'email' | 'employeeNumber', value: string): Promise<Person[]> {
    const name = attribute === 'email' ? this.names.mail : this.names.employeeNumber;
    // Without a configured employee-number attribute, no person can match by number.
    if (!name) return Promise.resolve([]);
    return this.run(`finding the people with ${name}=${value}`, async (client) => {
      const filter = new AndFilter({
        filters: [PERSON_FILTER, new EqualityFilter({ attribute: name, value })],
      });
      const { searchEntries } = await client.search(this.options.bases.people, {
        scope: 'sub',
        filter,
        attributes: this.personReadAttributes(),
      });
      return searchEntries.map((entry) => this.toPerson(entry));
    });
  }

  findPerson(username: string): Promise<Person | undefined> {
    return this.run(`finding person ${username}`, async (client) => {
      const entry = await this.personEntry(client, username);
      return entry && this.toPerson(entry);
    });
  }

  /**
   * Writes in an order a retry completes: (1) allocate the number, (2) add the user-private group
   * with it, (3) add the person. A retry finds the group of step 2 by its marker and reuses its
   * number; a retry after step 3 returns the person it finds.
   */
  async createPerson(person: NewPerson): Promise<Person> {
    if (!POSIX_NAME.test(person.username)) {
      throw new ValidationError(
        `username ${JSON.stringify(person.username)} is not a valid POSIX name`,
        'username',
      );
    }
    if (!person.sourceId) throw new ValidationError(`person ${person.username} has no source id`, 'sourceId');

    return this.run(`creating person ${person.username}`, async (client) => {
      const existing = await this.personEntry(client, person.username);
      if (existing) return this.existingCreation(existing, person);

      const number = await privateGroupNumber(client, this.privateGroups, person.username);
      const dn = `${this.names.username}=${person.username},${this.options.bases.people}`;
      try {
        await client.add(dn, newPersonAttributes(person, number, this.names, this.classes));
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
      const created = await this.personEntry(client, person.username);
      if (!created)
        throw new DirectoryError(
          `person ${dn} on ${this.connector.server} is missing right after it was added`,
        );
      return this.existingCreation(created, person);
    });
  }

  updatePerson(username: string, changes: PersonChanges): Promise<Person> {
    return this.run(`updating person ${username}`, async (client) => {
      const entry = await this.requirePerson(client, username);
      const modifications = personChanges(entry, this.toPerson(entry), changes, this.names);
      if (modifications.length === 0) return this.toPerson(entry);
      await client.modify(entry.dn, modifications);
      return this.toPerson(await this.requirePerson(client, username));
    });
  }

  /** Removes memberships first, then the person, then the private group, so a retry finishes each step. */
  deletePerson(username: string): Promise<void> {
    return this.run(`deleting person ${username}`, async (client) => {
      const entry = await this.personEntry(client, username);
      const member: MemberIdentity = entry ? { username, dn: entry.dn } : { username };
      for (const group of await groupsListing(client, this.lookup, member))
        await removeMemberValues(client, group, member);
      if (entry) await deleteIgnoringMissing(client, entry.dn);

      const group = await findGroupEntry(client, this.lookup, username, ['gidNumber', 'description']);
      const personGid = entry ? integerValue(entry, 'gidNumber') : undefined;
      if (
        group &&
        (isMarkedPrivate(group) ||
          (personGid !== undefined && integerValue(group, 'gidNumber') === personGid))
      ) {
        await deleteIgnoringMissing(client, group.dn);
      }
    });
  }

  findGroup(name: string): Promise<Group | undefined> {
    return this.run(`finding group ${name}`, async (client) => {
      const found = await findGroupEntry(client, this.lookup, name, this.groupReadAttributes());
      return found && this.toGroup(found);
    });
  }

  ensureGroup(name: string): Promise<Group> {
    if (!POSIX_NAME.test(name))
      throw new ValidationError(`group name ${JSON.stringify(name)} is not a valid POSIX name`, 'name');
    return this.run(`ensuring group ${name}`, async (client) => {
      const found = await findGroupEntry(client, this.lookup, name, this.groupReadAttributes());
      if (found) return this.toGroup(found);

      const gidNumber = await allocateNumber(client, this.counter, 'gidNumber');
      try {
        await client.add(`${this.names.groupName}=${name},${this.options.bases.groups}`, {
          objectClass: this.classes.group,
          [this.names.groupName]: name,
          gidNumber: String(gidNumber),
        });
      } catch (error) {
        // A concurrent ensureGroup won, so its gidNumber is kept and ours stays unused.
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
      const created = await findGroupEntry(client, this.lookup, name, this.groupReadAttributes());
      if (!created)
        throw new DirectoryError(
          `group ${name} on ${this.connector.server} is missing right after it was added`,
        );
      return this.toGroup(created);
    });
  }

  groupsOf(username: string): Promise<string[]> {
    return this.run(`listing the groups of ${username}`, async (client) => {
      const entry = await this.personEntry(client, username);
      const member: MemberIdentity = entry ? { username, dn: entry.dn } : { username };
      const gidNumber = entry ? integerValue(entry, 'gidNumber') : undefined;
      const names: string[] = [];
      for (const group of await groupsListing(client, this.lookup, member)) {
        const name = firstValue(group, this.names.groupName);
        if (name === undefined) continue;
        const isPrivate =
          name === username && (isMarkedPrivate(group) || integerValue(group, 'gidNumber') === gidNumber);
        if (!isPrivate) names.push(name);
      }
      return names.sort();
    });
  }

  addMember(group: string, username: string): Promise<void> {
    return this.run(`adding ${username} to group ${group}`, async (client) => {
      const groupEntry = await this.requireGroup(client, group);
      const attribute = memberAttributeFor(groupEntry, this.memberMode);
      const person = attribute === 'memberUid' ? undefined : await this.requirePerson(client, username);
      await addMemberValue(client, groupEntry, attribute, { username, ...(person ? { dn: person.dn } : {}) });
    });
  }

  removeMember(group: string, username: string): Promise<void> {
    return this.run(`removing ${username} from group ${group}`, async (client) => {
      const groupEntry = await findGroupEntry(client, this.lookup, group, this.groupReadAttributes());
      if (!groupEntry) return;
      const person = await this.personEntry(client, username);
      await removeMemberValues(client, groupEntry, person ? { username, dn: person.dn } : { username });
    });
  }

  /** Reads every person and group with paged searches; any limit or error fails the whole read. */
  snapshot(): Promise<DirectorySnapshot> {
    const action = 'reading the directory snapshot';
    if (this.closed) return Promise.reject(this.closedError(action));
    return this.connector.read(action, (reader) => readSnapshot(reader, this.snapshotSettings, this.now()));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connector.close();
  }

  private run<T>(action: string, work: (client: Client) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError(action));
    return this.connector.run(action, work);
  }

  private closedError(action: string): DirectoryError {
    return new DirectoryError(`${action} failed: the LDAP store for ${this.connector.server} is closed`);
  }

  private personReadAttributes(): string[] {
    return [...personAttributes(this.names), 'objectClass'];
  }

  private groupReadAttributes(): string[] {
    return this.privateGroups.groupAttributes;
  }

  private personEntry(client: Client, username: string): Promise<Entry | undefined> {
    return findPersonEntry(client, this.lookup, this.names.username, username, this.personReadAttributes());
  }

  private async requirePerson(client: Client, username: string): Promise<Entry> {
    const entry = await this.personEntry(client, username);
    if (!entry)
      throw new DirectoryError(
        `person ${username} not found under ${this.options.bases.people} on ${this.connector.server}`,
      );
    return entry;
  }

  private async requireGroup(client: Client, name: string): Promise<Entry> {
    const entry = await findGroupEntry(client, this.lookup, name, this.groupReadAttributes());
    if (!entry)
      throw new DirectoryError(
        `group ${name} not found under ${this.options.bases.groups} on ${this.connector.server}`,
      );
    return entry;
  }

  private toPerson(entry: Entry): Person {
    const person = personFromEntry(entry, this.names, daysSinceEpoch(this.now()));
    if (typeof person === 'string')
      throw new DirectoryError(`person ${entry.dn} on ${this.connector.server} is unreadable: ${person}`);
    return person;
  }

  /** Converts a group entry with its direct members. Member DNs give their `uid=` RDN value, and nested groups are not expanded. */
  private toGroup(entry: Entry): Group {
    const gidNumber = integerValue(entry, 'gidNumber');
    if (gidNumber === undefined || !Number.isSafeInteger(gidNumber)) {
      throw new DirectoryError(`group ${entry.dn} on ${this.connector.server} has no valid gidNumber`);
    }
    const fromDns = [...allValues(entry, 'member'), ...allValues(entry, 'uniqueMember')]
      .map((dn) => firstRdn(dn))
      .flatMap((rdn) => (rdn?.type === this.names.username.toLowerCase() ? [rdn.value] : []));
    const members = [...new Set([...allValues(entry, 'memberUid'), ...fromDns])];
    return { name: firstValue(entry, this.names.groupName) ?? '', gidNumber, members };
  }

  /** Returns the person a create found already there, when the source id matches, and throws otherwise. */
  private existingCreation(entry: Entry, person: NewPerson): Person {
    const found = this.toPerson(entry);
    if (found.sourceId === person.sourceId) return found;
    throw new DirectoryError(
      `person ${entry.dn} on ${this.connector.server} already exists for another source id`,
    );
  }
}
