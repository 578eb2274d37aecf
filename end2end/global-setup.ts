import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { users, PASSWORD } from './tests/users';

// The accounts the journeys sign in with, created through the server's own commands on the
// database the server under test uses.
export default function globalSetup() {
  const root = path.resolve(__dirname, '..');
  const env = {
    ...process.env,
    DATABASE_URL: process.env.E2E_DATABASE_URL ?? 'target/e2e/crm-e2e.sqlite3',
    CRM_ADMIN_PASSWORD: PASSWORD,
    CRM_USER_PASSWORD: PASSWORD,
    CRM_LOG: 'warn',
  };
  const server = path.join(root, 'target/debug/server');
  execFileSync(server, ['create-admin', '--email', users.admin.email, '--name', users.admin.name], { cwd: root, env });
  for (const u of [users.staff, users.client]) {
    execFileSync(server, ['create-user', '--email', u.email, '--name', u.name, '--kind', u.kind], { cwd: root, env });
  }
}
