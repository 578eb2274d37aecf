import { test, expect } from './fixtures';
import { signIn, unique } from './helpers';
import { users, PASSWORD } from './users';

test('without JavaScript, staff log a note on a contact', async ({ page }) => {
  const darden = `Darden ${unique()}`;
  await page.goto('/login');
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto('/staff/contacts/new');
  await page.getByLabel('First name').fill('Christine');
  await page.getByLabel('Last name').fill(darden);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Christine ${darden}` })).toBeVisible();

  const activity = page.getByRole('region', { name: 'Activity' });
  await activity.getByLabel('Type').selectOption({ label: 'Note' });
  await activity.getByLabel('When').fill('2026-11-23T09:15');
  await activity.getByRole('button', { name: 'Log activity' }).click();
  await expect(page.getByText('Write what happened, or give it a subject.')).toBeVisible();
  const form = page.getByRole('region', { name: 'Activity' });
  await expect(form.getByLabel('When')).toHaveValue('2026-11-23T09:15');
  await expect(form.getByLabel('Type')).toHaveValue('note');

  await form.getByLabel('Subject').fill('Sonic boom research');
  await form.getByRole('button', { name: 'Log activity' }).click();
  await expect(page.getByText('Activity logged.')).toBeVisible();
  await expect(page.getByRole('article', { name: 'Sonic boom research' })).toContainText('09:15 · by Ada Admin');
});
