import { test, expect, type Page } from './fixtures';
import { createAccount, hydrated, signIn, unique } from './helpers';
import { users, PASSWORD } from './users';

async function signedIn(page: Page, email: string, password: string) {
  await page.goto('/login');
  await hydrated(page);
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/staff$/);
  return page;
}

test('an admin approves a new colleague, gives them a group, and can shut them out at once', async ({ newPage }) => {
  const mark = unique();
  const rita = { name: `Rita Sales ${mark}`, email: `rita.${mark}@example.com`, password: 'seven purple tigers dance quietly' };
  const sales = `Sales ${mark}`;

  // Rita registers herself and waits for approval.
  const ritaPage = await newPage();
  await ritaPage.goto('/register');
  await hydrated(ritaPage);
  await ritaPage.getByLabel('Your name').fill(rita.name);
  await ritaPage.getByLabel('Email').fill(rita.email);
  await ritaPage.getByLabel('Password').fill(rita.password);
  await ritaPage.getByRole('button', { name: 'Register' }).click();
  await expect(ritaPage).toHaveURL(/registered=pending/);

  // The admin finds her among the accounts waiting, and activates her.
  const admin = await signedIn(await newPage(), users.admin.email, PASSWORD);
  await admin.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Users' }).click();
  await expect(admin.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
  await admin.getByLabel('Status').selectOption({ label: 'Waiting or deactivated' });
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.getByRole('link', { name: rita.name }).click();
  await expect(admin.getByRole('heading', { level: 1, name: rita.name })).toBeVisible();
  await hydrated(admin);
  await admin.getByRole('button', { name: 'Activate account' }).click();
  await expect(admin.getByText('This account is active.')).toBeVisible();

  // A new group "Sales" that may view and export contacts, with Rita in it.
  await admin.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Groups' }).click();
  await admin.getByRole('link', { name: 'New group' }).click();
  await hydrated(admin);
  await admin.getByLabel('Name', { exact: true }).fill(sales);
  await admin.getByLabel('Description').fill('The sales team');
  await admin.getByLabel('View contacts').check();
  await admin.getByLabel('Export contacts').check();
  await admin.getByRole('group', { name: 'Members' }).getByLabel(rita.name).check();
  await admin.getByRole('button', { name: 'Save group' }).click();
  await expect(admin.getByRole('heading', { level: 1, name: sales })).toBeVisible();
  await expect(admin.getByText('Changes saved.')).toBeVisible();
  await expect(admin.getByLabel('Export contacts')).toBeChecked();

  // Rita signs in: the group gives her no user management, and asking for it is refused.
  await ritaPage.goto('/login');
  await hydrated(ritaPage);
  await signIn(ritaPage, rita.email, rita.password);
  await expect(ritaPage).toHaveURL(/\/staff$/);
  const nav = ritaPage.getByRole('navigation', { name: 'Staff' });
  await expect(nav.getByRole('link', { name: 'Dashboard' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await ritaPage.goto('/staff/users');
  // The refusal can show twice for a moment while the page hydrates (the server's error and the
  // browser's own fetch of it); the first one is what she reads.
  await expect(ritaPage.getByRole('alert').first()).toContainText('You do not have access to this.');
  await expect(ritaPage.getByText(users.client.email)).toHaveCount(0);

  // The admin deactivates her; her open session ends at once.
  await admin.goto(`/staff/users?q=${mark}`);
  await admin.getByRole('link', { name: rita.name }).click();
  await hydrated(admin);
  await admin.getByRole('button', { name: 'Deactivate account' }).click();
  await expect(admin.getByText('This account is not active: it cannot sign in.')).toBeVisible();
  await ritaPage.goto('/staff');
  await expect(ritaPage).toHaveURL(/\/login\?next=\/staff$/);

  // And the audit log tells the story.
  await admin.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Audit log' }).click();
  const entry = (action: string, subject: string) =>
    admin.getByRole('row').filter({ has: admin.getByRole('cell', { name: action, exact: true }) }).filter({ hasText: subject });
  await expect(entry('user.deactivate', rita.email)).toBeVisible();
  await expect(entry('user.activate', rita.email)).toBeVisible();
  await expect(entry('group.create', sales)).toBeVisible();
});

test('an admin cannot demote the last administrator', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto(`/staff/users?q=${encodeURIComponent(users.admin.email)}`);
  await page.getByRole('link', { name: users.admin.name }).click();
  await hydrated(page);
  await page.getByLabel('Administrator (may do everything)').uncheck();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText(/last active administrator/)).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Administrator (may do everything)')).toBeChecked();
});

test('a one-time link lets a newcomer choose their own password', async ({ newPage }) => {
  const mark = unique();
  const lena = { name: `Lena Link ${mark}`, email: `lena.${mark}@example.com` };
  const lenaPage = await newPage();
  await lenaPage.goto('/register');
  await hydrated(lenaPage);
  await lenaPage.getByLabel('Your name').fill(lena.name);
  await lenaPage.getByLabel('Email').fill(lena.email);
  await lenaPage.getByLabel('Password').fill('forgotten before monday morning');
  await lenaPage.getByRole('button', { name: 'Register' }).click();
  await expect(lenaPage).toHaveURL(/registered=pending/);

  const admin = await signedIn(await newPage(), users.admin.email, PASSWORD);
  await admin.goto(`/staff/users?q=${mark}`);
  await admin.getByRole('link', { name: lena.name }).click();
  await hydrated(admin);
  await admin.getByRole('button', { name: 'Activate account' }).click();
  await expect(admin.getByText('This account is active.')).toBeVisible();
  await admin.getByRole('button', { name: 'Create a one-time link' }).click();
  const link = await admin.getByLabel('Link to send').inputValue();
  expect(link).toMatch(/\/set-password\?token=[0-9a-f]{64}$/);

  await lenaPage.goto(link);
  await hydrated(lenaPage);
  await lenaPage.getByLabel('New password').fill('short');
  await lenaPage.getByRole('button', { name: 'Set password' }).click();
  await expect(lenaPage.getByText(/at least 15 characters/i).first()).toBeVisible();
  await lenaPage.getByLabel('New password').fill('lanterns over the harbour');
  await lenaPage.getByRole('button', { name: 'Set password' }).click();
  await expect(lenaPage).toHaveURL(/\/login\?password_set=1$/);
  await expect(lenaPage.getByText('Your new password is set. Sign in with it.')).toBeVisible();
  await signIn(lenaPage, lena.email, 'lanterns over the harbour');
  await expect(lenaPage).toHaveURL(/\/staff$/);

  // The link was for one use only.
  await lenaPage.goto(link);
  await hydrated(lenaPage);
  await lenaPage.getByLabel('New password').fill('another harbour lantern');
  await lenaPage.getByRole('button', { name: 'Set password' }).click();
  await expect(lenaPage.getByRole('alert')).toContainText('expired or has already been used');
});

test('staff change their own name on their profile', async ({ page }) => {
  // An account of its own: the name changes, and no other journey sees it.
  const søren = { name: 'Søren Størmer', email: `soren.${unique()}@example.com`, kind: 'staff' } as const;
  createAccount(søren);
  await page.goto('/login');
  await hydrated(page);
  await signIn(page, søren.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Your profile' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your profile' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill('Søren Kierkegård Størmer');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByText('Your name is saved.')).toBeVisible();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Søren Kierkegård Størmer');

  await page.getByLabel('Current password').fill('not my current one');
  await page.getByLabel('New password').fill('a perfectly good passphrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('That is not your current password.')).toBeVisible();
});
