// The person/group model every directory store speaks, and the interface both stores implement.

export type HrStatus = 'active' | 'terminated';

/** Whether a person may log in. Disabled covers Okta's deactivated and suspended states. */
export type PersonStatus = 'active' | 'disabled';

/** A person as the directory stores them. `username` is fixed at creation and never renamed. */
export interface Person {
  /** POSIX login name, `^[a-z_][a-z0-9_.-]{0,31}$`. */
  username: string;
  uidNumber: number;
  /** Primary group; people created by fleet-login get a user-private group with gidNumber = uidNumber. */
  gidNumber: number;
  /** Full name as the source stores it; the GECOS rule in shared/bundle cleans it for passwd. */
  displayName: string;
  homeDirectory: string;
  loginShell: string;
  status: PersonStatus;
  /** OpenSSH public keys, one key per value, already validated. */
  sshPublicKeys: string[];
  email?: string;
  /** Immutable id in the source system (Okta user id `00u…`), absent for people fleet-login did not create. */
  sourceId?: string;
  /** Employee number shared by Okta's profile and the HR system, used to match HR records. */
  employeeNumber?: string;
  /** Set to `terminated` by the HR sync: the person stays disabled whatever Okta reports, until HR reactivates them. */
  hrStatus?: HrStatus;
  /** Shadow fields as days since the epoch, when the directory contains them. */
  shadow?: ShadowFields;
}

export interface ShadowFields {
  lastChange?: number;
  min?: number;
  max?: number;
  warning?: number;
  inactive?: number;
  expire?: number;
  flag?: number;
}

/** A POSIX group; `members` are usernames (memberUid), already flattened for nested groups. */
export interface Group {
  name: string;
  gidNumber: number;
  members: string[];
}

/** One consistent read of the whole directory, the only input a publish takes. */
export interface DirectorySnapshot {
  people: Person[];
  groups: Group[];
  /** When the read started, ISO-8601. */
  readAt: string;
}

/** The fields of a new person; the store allocates uidNumber and gidNumber. */
export interface NewPerson {
  username: string;
  displayName: string;
  email?: string;
  sourceId: string;
  status: PersonStatus;
  sshPublicKeys: string[];
  employeeNumber?: string;
}

/** Fields a sync may change on an existing person. */
export type PersonChanges = Partial<
  Pick<Person, 'displayName' | 'email' | 'status' | 'sshPublicKeys' | 'employeeNumber' | 'hrStatus'>
>;

/**
 * The directory as the sync and publish steps use it. The embedded store (a JSON file) and the
 * LDAP store implement it. Every method either completes or throws DirectoryError; none leaves
 * a half-applied change that a retry of the same call would not complete.
 */
export interface DirectoryStore {
  /** Finds a person by source id (Okta user id). */
  findPersonBySourceId(sourceId: string): Promise<Person | undefined>;
  findPerson(username: string): Promise<Person | undefined>;
  /** Finds every person with the email (without case) or HR employee number, for matching HR records. */
  findPeopleBy(attribute: 'email' | 'employeeNumber', value: string): Promise<Person[]>;
  /** Creates the person and their user-private group, allocating a uidNumber never used before. */
  createPerson(person: NewPerson): Promise<Person>;
  updatePerson(username: string, changes: PersonChanges): Promise<Person>;
  /** Deletes the person and their user-private group and removes them from every group. Their uidNumber stays retired. */
  deletePerson(username: string): Promise<void>;
  findGroup(name: string): Promise<Group | undefined>;
  /** Returns the group, creating it with a newly allocated gidNumber when it does not exist. */
  ensureGroup(name: string): Promise<Group>;
  /** Names of the groups (other than the private group) that list the person as a member. */
  groupsOf(username: string): Promise<string[]>;
  addMember(group: string, username: string): Promise<void>;
  removeMember(group: string, username: string): Promise<void>;
  snapshot(): Promise<DirectorySnapshot>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}
