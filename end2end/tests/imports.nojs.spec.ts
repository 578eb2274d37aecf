import { test, expect } from './fixtures';
import { signIn, unique } from './helpers';
import { users, PASSWORD } from './users';
import type { Page } from '@playwright/test';

/** Without JavaScript a busy import's page shows where it is; the person reloads it. */
async function reloadUntil(page: Page, state: string) {
  for (let i = 0; i < 60; i++) {
    if ((await page.locator('#import-state').textContent()) === state) return;
    await page.waitForTimeout(500);
    await page.reload();
  }
  await expect(page.locator('#import-state')).toHaveText(state);
}

test('without JavaScript an import is uploaded, mapped, checked, run and undone with plain forms', async ({ page }) => {
  test.setTimeout(120_000);
  const mark = unique();
  await page.goto('/login');
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto('/staff/imports');
  const csv = `Name,Surname,Mail,Land\nJosé,Núñez ${mark},jose.${mark}@example.es,España\nЁлка,Пушкина ${mark},yolka.${mark}@example.ru,Россия\n`;
  await page.getByLabel('File to import').setInputFiles({ name: `nojs-${mark}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Import: nojs-${mark}.csv` })).toBeVisible();
  // "Name" is not a target of its own: map it to the first name by hand.
  await expect(page.getByLabel('“Name” goes to')).toHaveValue('ignore');
  await page.getByLabel('“Name” goes to').selectOption({ label: 'First name' });
  await page.getByRole('button', { name: 'Start the dry run' }).click();
  await reloadUntil(page, 'Dry run done');
  await expect(page.locator('#dry-run-totals')).toContainText('2 rows: 2 to create');
  await expect(page.getByRole('listitem').filter({ hasText: 'Country: (empty) → Россия' })).toBeVisible();
  await page.getByRole('button', { name: 'Import: create 2 and update 0' }).click();
  await reloadUntil(page, 'Imported');
  await expect(page.locator('#import-result')).toContainText('Created 2, updated 0');
  await page.getByLabel('Yes, undo this import').check();
  await page.getByRole('button', { name: 'Undo the import' }).click();
  await reloadUntil(page, 'Undone');
  await page.goto(`/staff/contacts?q=${mark}`);
  await expect(page.getByRole('link', { name: /Núñez/ })).toHaveCount(0);
});
