import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { users, PASSWORD } from './tests/users';

// The accounts the journeys sign in with, created through the server's own commands on the
// database the server under test uses. create-admin makes or resets the one administrator before
// any journey registers anyone, so no registration becomes the installation's first administrator;
// running the suite again on the same database keeps the accounts of the first run.
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
    try {
      execFileSync(server, ['create-user', '--email', u.email, '--name', u.name, '--kind', u.kind], {
        cwd: root,
        env,
        stdio: 'pipe',
      });
    } catch (e) {
      // A second run on the same database finds the account the first one made, with this password.
      if (!String((e as { stderr?: Buffer }).stderr).includes('already has an account')) throw e;
    }
  }
}
