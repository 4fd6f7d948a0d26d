// The embedded directory: one JSON file, rewritten atomically, for `npm start` and unit tests.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { DirectoryError } from '../errors.ts';
import { isErrno } from '../storage/local-store.ts';
import { FIRST_GID_NUMBER, FIRST_UID_NUMBER } from './id-numbers.ts';
import type { DirectorySnapshot, DirectoryStore, Group, NewPerson, Person, PersonChanges } from './model.ts';

const DEFAULT_SHELL = '/bin/bash';

const personSchema = z.object({
  username: z.string(),
  uidNumber: z.number().int(),
  gidNumber: z.number().int(),
  displayName: z.string(),
  homeDirectory: z.string(),
  loginShell: z.string(),
  status: z.enum(['active', 'disabled']),
  sshPublicKeys: z.array(z.string()),
  email: z.string().optional(),
  sourceId: z.string().optional(),
  employeeNumber: z.string().optional(),
  hrStatus: z.enum(['active', 'terminated']).optional(),
});
const fileSchema = z.object({
  format: z.literal(1),
  nextUidNumber: z.number().int(),
  nextGidNumber: z.number().int(),
  people: z.array(personSchema),
  groups: z.array(z.object({ name: z.string(), gidNumber: z.number().int(), members: z.array(z.string()) })),
});
type DirectoryFile = z.infer<typeof fileSchema>;

/** Serialises writers per file within this process; local runs have one process per directory file. */
const fileQueues = new Map<string, Promise<unknown>>();

export interface EmbeddedStoreOptions {
  firstUidNumber?: number;
  firstGidNumber?: number;
}

export class EmbeddedDirectoryStore implements DirectoryStore {
  constructor(
    private readonly path: string,
    private readonly options: EmbeddedStoreOptions = {},
  ) {}

  async findPersonBySourceId(sourceId: string): Promise<Person | undefined> {
    return (await this.read()).people.find((person) => person.sourceId === sourceId);
  }

  async findPeopleBy(attribute: 'email' | 'employeeNumber', value: string): Promise<Person[]> {
    const wanted = attribute === 'email' ? value.toLowerCase() : value;
    return (await this.read()).people.filter((person) => {
      const held = person[attribute];
      return (attribute === 'email' ? held?.toLowerCase() : held) === wanted;
    });
  }

  async findPerson(username: string): Promise<Person | undefined> {
    return (await this.read()).people.find((person) => person.username === username);
  }

  createPerson(input: NewPerson): Promise<Person> {
    return this.update((file) => {
      if (file.people.some((person) => person.username === input.username)) {
        throw new DirectoryError(`person ${input.username} already exists in ${this.path}`);
      }
      // The counter only moves forward, so a deleted person's number is never handed out again.
      const uidNumber = file.nextUidNumber++;
      const person: Person = {
        ...input,
        uidNumber,
        gidNumber: uidNumber,
        homeDirectory: `/home/${input.username}`,
        loginShell: DEFAULT_SHELL,
      };
      file.people.push(person);
      file.groups.push({ name: input.username, gidNumber: uidNumber, members: [] });
      return person;
    });
  }

  updatePerson(username: string, changes: PersonChanges): Promise<Person> {
    return this.update((file) => {
      const person = this.requirePerson(file, username);
      Object.assign(person, changes);
      return person;
    });
  }

  deletePerson(username: string): Promise<void> {
    return this.update((file) => {
      const person = file.people.find((candidate) => candidate.username === username);
      file.people = file.people.filter((candidate) => candidate.username !== username);
      file.groups = file.groups.filter(
        (group) => !(group.name === username && group.gidNumber === person?.gidNumber),
      );
      for (const group of file.groups) group.members = group.members.filter((member) => member !== username);
    });
  }

  async findGroup(name: string): Promise<Group | undefined> {
    return (await this.read()).groups.find((group) => group.name === name);
  }

  ensureGroup(name: string): Promise<Group> {
    return this.update((file) => {
      const existing = file.groups.find((group) => group.name === name);
      if (existing) return existing;
      const group = { name, gidNumber: file.nextGidNumber++, members: [] };
      file.groups.push(group);
      return group;
    });
  }

  async groupsOf(username: string): Promise<string[]> {
    const file = await this.read();
    return file.groups.filter((group) => group.members.includes(username)).map((group) => group.name);
  }

  addMember(groupName: string, username: string): Promise<void> {
    return this.update((file) => {
      const group = this.requireGroup(file, groupName);
      if (!group.members.includes(username)) group.members.push(username);
    });
  }

  removeMember(groupName: string, username: string): Promise<void> {
    return this.update((file) => {
      const group = file.groups.find((candidate) => candidate.name === groupName);
      if (group) group.members = group.members.filter((member) => member !== username);
    });
  }

  async snapshot(): Promise<DirectorySnapshot> {
    const readAt = new Date().toISOString();
    const file = await this.read();
    return { people: file.people, groups: file.groups, readAt };
  }

  async close(): Promise<void> {}

  private requirePerson(file: DirectoryFile, username: string): Person {
    const person = file.people.find((candidate) => candidate.username === username);
    if (!person) throw new DirectoryError(`person ${username} not found in ${this.path}`);
    return person;
  }

  private requireGroup(file: DirectoryFile, name: string): DirectoryFile['groups'][number] {
    const group = file.groups.find((candidate) => candidate.name === name);
    if (!group) throw new DirectoryError(`group ${name} not found in ${this.path}`);
    return group;
  }

  private async read(): Promise<DirectoryFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return this.emptyFile();
      throw new DirectoryError(`reading the directory file ${this.path} failed`, { cause: error });
    }
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new DirectoryError(`the directory file ${this.path} is malformed`, { cause: parsed.error });
    return parsed.data;
  }

  private emptyFile(): DirectoryFile {
    return {
      format: 1,
      nextUidNumber: this.options.firstUidNumber ?? FIRST_UID_NUMBER,
      nextGidNumber: this.options.firstGidNumber ?? FIRST_GID_NUMBER,
      people: [],
      groups: [],
    };
  }

  /** Runs one read-modify-write under the file's queue and replaces the file atomically. */
  private update<T>(change: (file: DirectoryFile) => T): Promise<T> {
    const previous = fileQueues.get(this.path) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const file = await this.read();
        const result = change(file);
        await writeAtomically(this.path, `${JSON.stringify(file, null, 2)}\n`);
        return result;
      });
    fileQueues.set(this.path, next);
    return next;
  }
}

/** Writes a temp file beside the target, fsyncs it, renames it over the target and fsyncs the folder. */
export async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
