import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.ts';
import { admits, DEFAULT_BUNDLE_LIFETIME_HOURS, parsePolicy } from '../../shared/policy/policy.ts';

function rejection(text: string): ValidationError {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parsePolicy', () => {
  it('reads YAML with defaults filled in', () => {
    const policy = parsePolicy(
      'hostClasses:\n  prod-admin:\n    allowGroups: [sre]\n    sudo: [{ group: sre, commands: ["/usr/bin/systemctl restart nginx", ALL] }]\n',
      'policy.yaml',
    );
    expect(policy.hostClasses).toEqual([
      {
        name: 'prod-admin',
        allowGroups: ['sre'],
        sudo: [
          {
            group: 'sre',
            runAs: 'root',
            commands: ['/usr/bin/systemctl restart nginx', 'ALL'],
            noPassword: true,
          },
        ],
        emergencyKeys: false,
        bundleLifetimeHours: DEFAULT_BUNDLE_LIFETIME_HOURS,
      },
    ]);
  });

  it('reads JSON too', () => {
    expect(
      parsePolicy('{"hostClasses":{"general":{"allowGroups":["*"]}}}', 'policy.json').hostClasses[0]?.name,
    ).toBe('general');
  });

  it.each([
    [
      'an unknown key',
      'hostClasses:\n  general: { allowGroups: ["*"], shel: /bin/sh }\n',
      'hostClasses.general',
    ],
    [
      'a command without a full path',
      'hostClasses:\n  ops: { allowGroups: [ops], sudo: [{ group: ops, commands: ["systemctl restart nginx"] }] }\n',
      'hostClasses.ops.sudo.0.commands.0',
    ],
    [
      'a command with a comma',
      'hostClasses:\n  ops: { allowGroups: [ops], sudo: [{ group: ops, commands: ["/bin/ls, /bin/sh"] }] }\n',
      'hostClasses.ops.sudo.0.commands.0',
    ],
    [
      'a sudo group that is not a POSIX name',
      'hostClasses:\n  ops: { allowGroups: [ops], sudo: [{ group: "Ops Team", commands: [ALL] }] }\n',
      'hostClasses.ops.sudo.0.group',
    ],
    [
      'a shell override with a colon',
      'hostClasses:\n  bastion: { allowGroups: ["*"], shellOverride: "/bin/sh:x" }\n',
      'hostClasses.bastion.shellOverride',
    ],
    [
      'a class name with capitals',
      'hostClasses:\n  General: { allowGroups: ["*"] }\n',
      'hostClasses.General',
    ],
    ['no classes', 'hostClasses: {}\n', 'hostClasses'],
    ['a class without allowGroups', 'hostClasses:\n  general: {}\n', 'hostClasses.general.allowGroups'],
  ])('rejects %s, naming the path', (_case, text, path) => {
    const error = rejection(text);
    expect(error.message).toContain(`policy.yaml: ${path}`);
    expect(error.field).toBe(path);
  });

  it('rejects text that is not YAML', () => {
    expect(rejection('hostClasses: [unclosed').message).toMatch(/not valid YAML or JSON/);
  });
});

describe('admits', () => {
  const classes = parsePolicy(
    'hostClasses:\n  all: { allowGroups: ["*"] }\n  sre: { allowGroups: [sre] }\n',
    'p',
  ).hostClasses;
  const byName = (name: string) => {
    const hostClass = classes.find((candidate) => candidate.name === name);
    if (!hostClass) throw new Error(`no host class ${name}`);
    return hostClass;
  };

  it('admits active people by group or by star', () => {
    expect(admits(byName('all'), true, [])).toBe(true);
    expect(admits(byName('sre'), true, ['sre'])).toBe(true);
    expect(admits(byName('sre'), true, ['dev'])).toBe(false);
  });

  it('never admits a disabled person', () => {
    expect(admits(byName('all'), false, ['sre'])).toBe(false);
  });
});
