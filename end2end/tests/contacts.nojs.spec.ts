import { test, expect } from '@playwright/test';
import { signIn } from './helpers';
import { users, PASSWORD } from './users';

test('without JavaScript, staff add a contact, find it and tag it in bulk', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto('/staff/contacts/new');
  await page.getByLabel('First name').fill('Annie');
  await page.getByLabel('Last name').fill('Easley');
  await page.getByLabel('Email').fill('annie@example');
  await page.getByLabel('Add tags').fill('Rocketry');
  await page.getByLabel('Support').check();
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByLabel('Last name')).toHaveValue('Easley');
  // Without JavaScript the typed tag comes back as a ticked chip.
  await expect(page.getByRole('checkbox', { name: 'Rocketry' })).toBeChecked();

  await page.getByLabel('Email').fill('annie@example.com');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Annie Easley' })).toBeVisible();
  await expect(page.getByText('Rocketry')).toBeVisible();

  await page.goto('/staff/contacts?q=easley');
  await page.getByLabel('Select Annie Easley').check();
  await page.getByLabel('Action').selectOption({ label: 'Add a tag' });
  await page.getByLabel('Tag name').fill('Centaur');
  await page.getByRole('button', { name: 'Apply to selected' }).click();
  await expect(page).toHaveURL(/q=easley&saved=1/);
  await expect(page.getByRole('row', { name: /Annie Easley/ })).toContainText('Centaur, Rocketry');
});
