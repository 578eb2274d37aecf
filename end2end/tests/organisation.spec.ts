import { test, expect } from './fixtures';
import { addContact, asAdmin, hydrated, unique } from './helpers';

// The organisation's settings are one per installation: every journey here puts them back, so
// the specs that read the name or the times see the defaults whatever ran before.
async function restoreDefaults(page: import('@playwright/test').Page) {
  await page.goto('/staff/settings/organisation');
  await hydrated(page);
  await page.getByLabel('Name').fill('Your company');
  await page.getByLabel('Time zone').selectOption('UTC');
  await page.getByLabel('Date format').selectOption('iso');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Changes saved.')).toBeVisible();
}

test('an administrator names the organisation and every time follows its zone and format', async ({ page }) => {
  await asAdmin(page);
  const mark = unique();
  try {
    await page.getByRole('link', { name: 'Organisation' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Organisation' })).toBeVisible();
    await hydrated(page);
    await page.getByLabel('Name').fill(`Padaria São João 🥖 ${mark}`);
    await page.getByLabel('Time zone').selectOption('Asia/Tokyo');
    await page.getByLabel('Date format').selectOption({ label: '31 Dec 2026' });
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('Changes saved.')).toBeVisible();

    await addContact(page, 'Hanako', `山田 ${mark}`);
    const added = page.getByRole('definition').filter({ hasText: ' JST by ' }).first();
    await expect(added).toHaveText(/^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} JST by /);

    await page.goto('/status');
    await expect(page.getByRole('definition').filter({ hasText: `Padaria São João 🥖 ${mark}` })).toBeVisible();
  } finally {
    await restoreDefaults(page);
  }
});

test('a name left empty is refused next to the field and nothing typed is lost', async ({ page }) => {
  await asAdmin(page);
  await page.goto('/staff/settings/organisation');
  await hydrated(page);
  await page.getByLabel('Name').fill('   ');
  await page.getByLabel('Time zone').selectOption('Europe/Berlin');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Time zone')).toHaveValue('Europe/Berlin');
  await page.goto('/staff/settings/organisation');
  await expect(page.getByLabel('Time zone')).toHaveValue('UTC');
});
