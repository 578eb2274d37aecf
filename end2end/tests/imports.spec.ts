import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, expect } from './fixtures';
import { asAdmin, hydrated, unique } from './helpers';

test('staff import a CSV: adjust the mapping, read the dry run, watch the run, download the errors, undo it', async ({ page }) => {
  // Uploading, checking, running and undoing 1,500 rows on a debug build: longer than a page's test.
  test.setTimeout(240_000);
  const mark = unique();
  const last = `Ångström ${mark}`;
  await asAdmin(page);

  // A contact the file updates.
  await page.goto('/staff/contacts/new');
  await hydrated(page);
  await page.getByLabel('First name').fill('Zoë');
  await page.getByLabel('Last name').fill(last);
  await page.getByLabel('Email').fill(`zoe.${mark}@example.com`);
  await page.getByLabel('Phone').fill('+49 30 1');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Zoë ${last}` })).toBeVisible();

  // Columns in another order, named in German; Zoë's email in capitals with a new phone, a row
  // with a bad email, and 1,500 new contacts.
  const lines = ['Telefon;Nachname;E-Mail;Vorname;Bemerkung'];
  lines.push(`+49 30 2;${last};ZOE.${mark}@EXAMPLE.COM;Zoë;`);
  lines.push(`1;Fehler ${mark};kein-email;Falsch;`);
  for (let i = 0; i < 1500; i++) lines.push(`+81 3 ${i};山田 ${mark};taro${i}.${mark}@example.jp;太郎 ${i};Notiz ${i} 🎉`);
  const file = `kunden-${mark}.csv`;

  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Import' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Import contacts' })).toBeVisible();
  await page.getByLabel('File to import').setInputFiles({ name: file, mimeType: 'text/csv', buffer: Buffer.from(lines.join('\n') + '\n') });
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Import: ${file}` })).toBeVisible();
  await hydrated(page);

  // The suggestions, and one changed by hand.
  await expect(page.getByLabel('Delimiter')).toHaveValue(';');
  await expect(page.getByLabel('“E-Mail” goes to')).toHaveValue('field:email');
  await expect(page.getByLabel('“Vorname” goes to')).toHaveValue('field:first_name');
  await expect(page.getByLabel('“Bemerkung” goes to')).toHaveValue('ignore');
  await expect(page.getByRole('cell', { name: '太郎 0', exact: true })).toBeVisible();
  await page.getByLabel('“Bemerkung” goes to').selectOption({ label: 'Notes' });
  await page.getByRole('button', { name: 'Start the dry run' }).click();

  // The dry run's report arrives without a reload.
  const totals = page.locator('#dry-run-totals');
  await expect(totals).toContainText('1502 rows: 1500 to create, 1 to update, 0 unchanged, 0 skipped, 1 with errors', { timeout: 120_000 });
  await page.getByRole('link', { name: 'To update (1)' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Phone: +49 30 1 → +49 30 2' })).toBeVisible();
  await page.getByRole('link', { name: 'Errors (1)' }).click();
  await expect(page.getByRole('cell', { name: /^E-Mail: / })).toBeVisible();

  // The rows with errors, ready to fix and import again.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download the rows with errors (CSV)' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`kunden-${mark}-errors.csv`);
  const errors = fs.readFileSync((await download.path())!, 'utf8').trim().split('\n');
  expect(errors[0]).toBe('Telefon,Nachname,E-Mail,Vorname,Bemerkung,error');
  expect(errors).toHaveLength(2);
  expect(errors[1]).toContain('kein-email');
  expect(errors[1]).toContain('column E-Mail');

  // The run, with its progress bar, until the page says it is done.
  await hydrated(page);
  await page.getByRole('button', { name: 'Import: create 1500 and update 1' }).click();
  await expect(page.getByRole('progressbar')).toBeVisible();
  await expect(page.locator('#import-state')).toHaveText('Imported', { timeout: 180_000 });
  await expect(page.locator('#import-result')).toContainText('Created 1500, updated 1');

  await page.goto(`/staff/contacts?q=${encodeURIComponent('zoe.' + mark)}`);
  await page.getByRole('link', { name: `Zoë ${last}` }).click();
  await expect(page.getByRole('definition').filter({ hasText: /^\+49 30 2$/ })).toBeVisible();
  await expect(page.getByText(new RegExp(`Changed by import \\d+ \\(${file}\\)`))).toBeVisible();

  // Undo: the created contacts go, Zoë's phone comes back.
  await page.goto('/staff/imports');
  await page.getByRole('link', { name: new RegExp(`Open import \\d+ \\(${file}\\)`) }).click();
  await hydrated(page);
  await page.getByRole('button', { name: 'Undo the import' }).click();
  await expect(page.getByText('Tick the box to confirm the undo.')).toBeVisible();
  await page.getByLabel('Yes, undo this import').check();
  await page.getByRole('button', { name: 'Undo the import' }).click();
  await expect(page.locator('#import-state')).toHaveText('Undone', { timeout: 180_000 });
  await page.goto(`/staff/contacts?q=${encodeURIComponent(mark)}`);
  await expect(page.getByRole('link', { name: `Zoë ${last}` })).toBeVisible();
  await expect(page.getByRole('link', { name: /太郎/ })).toHaveCount(0);
  await page.getByRole('link', { name: `Zoë ${last}` }).click();
  await expect(page.getByRole('definition').filter({ hasText: /^\+49 30 1$/ })).toBeVisible();
});

test('staff import an Excel workbook, its numbers read as written', async ({ page }) => {
  test.setTimeout(120_000);
  await asAdmin(page);
  await page.goto('/staff/imports');
  await page.getByLabel('File to import').setInputFiles(path.join(__dirname, '..', 'fixtures', 'kontakte.xlsx'));
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Import: kontakte.xlsx' })).toBeVisible();
  await expect(page.getByLabel('Sheet')).toHaveValue('Kontakte');
  await expect(page.getByLabel('“PLZ” goes to')).toHaveValue('field:postal_code');
  await expect(page.getByRole('cell', { name: '10115', exact: true })).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Start the dry run' }).click();
  await expect(page.locator('#dry-run-totals')).toContainText('2 rows: 2 to create', { timeout: 60_000 });
  await expect(page.getByRole('listitem').filter({ hasText: 'Postal code: (empty) → 10115' })).toBeVisible();
  await page.getByRole('button', { name: 'Import: create 2 and update 0' }).click();
  await expect(page.locator('#import-state')).toHaveText('Imported', { timeout: 60_000 });
  await expect(page.locator('#import-result')).toContainText('Created 2, updated 0');
});
