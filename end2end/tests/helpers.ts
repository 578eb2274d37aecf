import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, type Page } from '@playwright/test';
import { users, PASSWORD } from './users';

/** Waits until the wasm bundle has hydrated the server-rendered page. */
export async function hydrated(page: Page) {
  await expect(page.locator('.app[data-hydrated="true"]')).toBeAttached();
}

/** Signs in through the login page, as a person would. */
export async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in as the administrator and waits for the dashboard. */
export async function asAdmin(page: Page) {
  await page.goto('/login');
  await hydrated(page);
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
}

let made = 0;
/**
 * A mark no other test, and no earlier run on the same database, uses: added to the names and
 * emails a test creates, so that each test finds only its own data and the specs pass alone, in
 * any order, and again.
 */
export function unique(): string {
  made += 1;
  return `${Date.now().toString(36)}${process.pid.toString(36)}${made}`;
}

/** Adds a contact through the form and stays on its hydrated profile. */
export async function addContact(page: Page, first: string, last: string, fields: { tags?: string } = {}) {
  await page.goto('/staff/contacts/new');
  await hydrated(page);
  await page.getByLabel('First name').fill(first);
  await page.getByLabel('Last name').fill(last);
  if (fields.tags) await page.getByLabel('Add tags').fill(fields.tags);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${first} ${last}` })).toBeVisible();
  await hydrated(page);
}

/** Creates an active account through the server's own command, as an installer would. */
export function createAccount(account: { email: string; name: string; kind: 'staff' | 'client' }) {
  const root = path.resolve(__dirname, '../..');
  execFileSync(
    path.join(root, 'target/debug/server'),
    ['create-user', '--email', account.email, '--name', account.name, '--kind', account.kind],
    {
      cwd: root,
      stdio: 'pipe',
      env: {
        ...process.env,
        DATABASE_URL: process.env.E2E_DATABASE_URL ?? 'target/e2e/crm-e2e.sqlite3',
        CRM_USER_PASSWORD: PASSWORD,
        CRM_LOG: 'warn',
      },
    },
  );
}
