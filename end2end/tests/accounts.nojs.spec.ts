import { test, expect } from './fixtures';
import { signIn } from './helpers';
import { users, PASSWORD } from './users';

test('without JavaScript, staff sign in, see the dashboard and sign out', async ({ page }) => {
  await page.goto('/staff');
  await expect(page).toHaveURL(/\/login\?next=\/staff$/);
  await signIn(page, users.staff.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  await expect(page.getByText(`Good to see you, ${users.staff.name}.`)).toBeVisible();
  await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login\?signed_out=1$/);
  await expect(page.getByText('You have been signed out.')).toBeVisible();
});

test('without JavaScript, a failed sign-in shows the message and keeps the email', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, users.client.email, 'not my password at all');
  await expect(page.getByRole('alert')).toContainText('do not match an active account');
  await expect(page.getByLabel('Email')).toHaveValue(users.client.email);
  await signIn(page, users.client.email, PASSWORD);
  await expect(page).toHaveURL(/\/portal$/);
  await expect(page.getByRole('heading', { level: 1, name: `Welcome, ${users.client.name}` })).toBeVisible();
});

test('without JavaScript, registration errors appear next to the fields', async ({ page }) => {
  await page.goto('/register');
  await page.getByLabel('Your name').fill('Otto Offline');
  await page.getByLabel('Email').fill('otto@example.com');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByText(/at least 15 characters/)).toBeVisible();
  await expect(page.getByLabel('Your name')).toHaveValue('Otto Offline');
  await expect(page.getByLabel('Email')).toHaveValue('otto@example.com');
});
