// Vitest global setup: fail the run at once, with the fix, when the real components are missing.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const REQUIRED_PROGRAMS = [
  '/usr/sbin/slapd',
  '/usr/sbin/slapadd',
  '/usr/bin/ldapsearch',
  '/usr/sbin/sshd',
  '/usr/bin/ssh',
  '/usr/bin/ssh-keygen',
  '/usr/bin/sudo',
  '/usr/sbin/visudo',
  '/usr/bin/unshare',
  '/usr/bin/openssl',
];

export default function checkPrerequisites(): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0)
    problems.push('the tests must run as root (they use private mount namespaces)');
  for (const program of REQUIRED_PROGRAMS) if (!existsSync(program)) problems.push(`${program} is missing`);
  const libraries = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
  if (!libraries.includes('libnss_cache.so.2'))
    problems.push('libnss_cache.so.2 (package libnss-cache) is missing');
  if (!existsSync('dist/fleet-login-agent.mjs'))
    problems.push('dist/fleet-login-agent.mjs is missing; run npm run build:agent');

  if (problems.length > 0) {
    throw new Error(
      `The test prerequisites are not met:\n  - ${problems.join('\n  - ')}\n` +
        'Install the packages with "bash scripts/install-test-packages.sh" as root, then run "npm test".',
    );
  }
}
