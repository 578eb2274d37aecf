import { test, expect } from './fixtures';
import { hydrated, signIn, unique } from './helpers';
import { users, PASSWORD } from './users';

test.describe('signing in', () => {
  test('staff land on their dashboard, greeted by name', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await signIn(page, users.staff.email, PASSWORD);
    await expect(page).toHaveURL(/\/staff$/);
    await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
    await expect(page.getByText(`Good to see you, ${users.staff.name}.`)).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Staff' })).toBeVisible();
  });

  test('administrators see how many accounts wait for activation', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await signIn(page, users.admin.email, PASSWORD);
    await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
    await expect(page.getByText(/waiting for activation/)).toBeVisible();
  });

  test('clients land on the portal and its three tabs work', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await signIn(page, users.client.email, PASSWORD);
    await expect(page).toHaveURL(/\/portal$/);
    const tabs = page.getByRole('navigation', { name: 'Portal' });
    await expect(page.getByRole('heading', { level: 1, name: `Welcome, ${users.client.name}` })).toBeVisible();

    await tabs.getByRole('link', { name: 'Your details' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Your details' })).toBeVisible();
    await expect(page.getByText(users.client.email)).toBeVisible();

    await tabs.getByRole('link', { name: 'Dashboard' }).click();
    await expect(page.getByRole('heading', { level: 1, name: `Welcome, ${users.client.name}` })).toBeVisible();

    await tabs.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login\?signed_out=1$/);
    await expect(page.getByText('You have been signed out.')).toBeVisible();
    await page.goto('/portal');
    await expect(page).toHaveURL(/\/login\?next=\/portal$/);
  });

  test('a wrong password keeps the email and says what went wrong', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await signIn(page, users.staff.email, 'not my password at all');
    await expect(page.getByRole('alert')).toContainText('do not match an active account');
    await expect(page.getByLabel('Email')).toHaveValue(users.staff.email);
    await expect(page).toHaveURL(/\/login$/);
  });

  test('an anonymous deep link leads through the login page back to the page', async ({ page }) => {
    await page.goto('/portal/details');
    await expect(page).toHaveURL(/\/login\?next=\/portal\/details$/);
    await hydrated(page);
    await signIn(page, users.client.email, PASSWORD);
    await expect(page).toHaveURL(/\/portal\/details$/);
    await expect(page.getByRole('heading', { level: 1, name: 'Your details' })).toBeVisible();
  });
});

test.describe('keeping the areas apart', () => {
  test('a client opening a staff page gets 403', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await signIn(page, users.client.email, PASSWORD);
    await expect(page).toHaveURL(/\/portal$/);
    const response = await page.goto('/staff');
    expect(response?.status()).toBe(403);
    await expect(page.getByRole('heading', { level: 1, name: 'You do not have access to this page' })).toBeVisible();
  });

  test('staff opening the portal get 403', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await signIn(page, users.staff.email, PASSWORD);
    await expect(page).toHaveURL(/\/staff$/);
    const response = await page.goto('/portal/details');
    expect(response?.status()).toBe(403);
    await expect(page.getByRole('heading', { level: 1, name: 'You do not have access to this page' })).toBeVisible();
    await expect(page.getByText(users.client.email)).toHaveCount(0);
  });

  test('logging out ends the session', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await signIn(page, users.staff.email, PASSWORD);
    await expect(page).toHaveURL(/\/staff$/);
    await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login\?signed_out=1$/);
    await expect(page.getByRole('banner').getByRole('link', { name: 'Sign in' })).toBeVisible();
    await page.goto('/staff');
    await expect(page).toHaveURL(/\/login\?next=\/staff$/);
  });
});

test('registration explains each problem next to its field and keeps what was typed', async ({ page }) => {
  const email = `nina.${unique()}@example.com`;
  await page.goto('/register');
  await hydrated(page);
  await page.getByLabel('Your name').fill('Nina New');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('password12345678');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByText(/too easy to guess/)).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Your name')).toHaveValue('Nina New');

  await page.getByLabel('Password').fill('a garden of quiet lanterns');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/login\?registered=pending$/);
  await expect(page.getByText(/administrator must activate your account/)).toBeVisible();
  await signIn(page, email, 'a garden of quiet lanterns');
  await expect(page.getByRole('alert')).toContainText('do not match an active account');
});
