import { test, expect } from './fixtures';
import { asAdmin, hydrated, unique } from './helpers';
import type { Page } from '@playwright/test';

/** Adds a contact with a city through the form. */
async function addPerson(page: Page, first: string, last: string, city: string) {
  await page.goto('/staff/contacts/new');
  await hydrated(page);
  await page.getByLabel('First name').fill(first);
  await page.getByLabel('Last name').fill(last);
  await page.getByLabel('City').fill(city);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${first} ${last}` })).toBeVisible();
}

/** Condition `n` (from 1) of the rule builder. */
function condition(page: Page, n: number) {
  return page.getByRole('group', { name: `Condition ${n}`, exact: true });
}

/** Waits for the live count the builder shows after the last change. */
async function liveCount(page: Page, text: string) {
  await expect(page.locator('.live-count')).toHaveText(text);
  await hydrated(page);
}

test('a dynamic segment with an OR group counts live, explains its members and records an exit', async ({ page }) => {
  test.setTimeout(120_000);
  const mark = unique();
  const [munich, copenhagen] = [`Müller ${mark}`, `Ørsted ${mark}`];
  await asAdmin(page);
  await addPerson(page, 'Jürgen', munich, 'München');
  await addPerson(page, 'Zoë', copenhagen, 'København');

  await page.goto('/staff/segments');
  await hydrated(page);
  await page.getByRole('link', { name: 'New segment' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New segment' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Name').fill(`Kunden ${mark} 🌍`);
  // Last name contains the mark…
  // A new subject starts with its first test (the page is drawn again for it).
  await condition(page, 1).getByLabel('Field').selectOption({ label: 'Last name' });
  await expect(condition(page, 1).getByLabel('Test')).toHaveValue('contains');
  await hydrated(page);
  await condition(page, 1).getByLabel('Value').fill(mark);
  await condition(page, 1).getByLabel('Value').press('Tab');
  await liveCount(page, '2 contacts match');
  // …and (city is münchen OR city is københavn).
  await page.getByRole('button', { name: 'Add a group' }).click();
  await expect(condition(page, 2)).toBeVisible();
  await hydrated(page);
  await condition(page, 2).getByLabel('Value').fill('MÜNCHEN');
  await condition(page, 2).getByLabel('Value').press('Tab');
  await liveCount(page, '1 contact matches');
  await page.getByRole('button', { name: 'Add a condition to group 1' }).click();
  await expect(condition(page, 3)).toBeVisible();
  await hydrated(page);
  await condition(page, 3).getByLabel('Value').fill('københavn');
  await condition(page, 3).getByLabel('Value').press('Tab');
  await liveCount(page, '2 contacts match');
  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Kunden ${mark} 🌍` })).toBeVisible();
  const members = page.getByRole('table').filter({ hasText: 'Why here' });
  await expect(members.getByRole('link', { name: `Jürgen ${munich}`, exact: true })).toBeVisible();
  await expect(members.getByRole('link', { name: `Zoë ${copenhagen}`, exact: true })).toBeVisible();

  // Why is Jürgen here: the conditions met, and the OR branch that matched.
  await page.getByRole('link', { name: `Why is Jürgen ${munich} in this segment?` }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Why Jürgen ${munich} is in “Kunden ${mark} 🌍”` })).toBeVisible();
  const explained = (text: string) => page.getByRole('listitem').filter({ hasText: new RegExp(`^[✓✗] ${text}$`) });
  await expect(explained(`Last name contains “${mark}” \\(met\\)`)).toBeVisible();
  await expect(page.getByText('Any of these (one is enough): — met')).toBeVisible();
  await expect(explained('City is “MÜNCHEN” \\(met\\)')).toBeVisible();
  await expect(explained('City is “københavn” \\(not met\\)')).toBeVisible();

  // Jürgen moves to Berlin: he leaves, and the segment's page says so.
  await page.getByRole('link', { name: `Open Jürgen ${munich}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Jürgen ${munich}` })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Segments' }).getByRole('link', { name: `Kunden ${mark} 🌍` })).toBeVisible();
  await hydrated(page);
  await page.getByRole('link', { name: 'Edit contact' }).click();
  // The form is drawn with the stored contact before it is changed.
  await expect(page.getByLabel('City')).toHaveValue('München');
  await hydrated(page);
  await page.getByLabel('City').fill('Berlin');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Jürgen ${munich}` })).toBeVisible();
  await page.goto('/staff/segments');
  await page.getByRole('link', { name: `Kunden ${mark} 🌍` }).click();
  const events = page.getByRole('table').filter({ hasText: 'Change' });
  await expect(events.getByRole('row').filter({ hasText: `Jürgen ${munich}` })).toContainText('Left');
  await expect(page.getByRole('img', { name: 'Segment size over time' })).toBeVisible();
  await expect(page.getByRole('table').filter({ hasText: 'Why here' }).getByRole('link', { name: `Jürgen ${munich}`, exact: true })).toHaveCount(0);
});

test('a static segment is filled by a bulk action, a snapshot is refreshed, and a list is saved as a segment', async ({ page }) => {
  test.setTimeout(120_000);
  const mark = unique();
  await asAdmin(page);
  await addPerson(page, 'Ολυμπία', `Παπαδοπούλου ${mark}`, 'Αθήνα');
  await addPerson(page, '美咲', `田中 ${mark}`, '東京');

  // A static segment, filled from the contact list.
  await page.goto('/staff/segments/new');
  await hydrated(page);
  await page.getByLabel('Name').fill(`Messe ${mark}`);
  await page.getByLabel(/^Static/).check();
  await expect(page).toHaveURL(/Static/);
  await expect(page.getByRole('group', { name: 'Rules' })).toHaveCount(0);
  await hydrated(page);
  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Messe ${mark}` })).toBeVisible();
  await page.goto(`/staff/contacts?q=${encodeURIComponent(mark)}`);
  await hydrated(page);
  await page.getByLabel(`Select Ολυμπία Παπαδοπούλου ${mark}`).check();
  await page.getByLabel('Action').selectOption({ label: 'Add to a static segment' });
  await page.getByLabel('Static segment').selectOption({ label: `Messe ${mark}` });
  await page.getByRole('button', { name: 'Apply to selected' }).click();
  await page.goto('/staff/segments');
  await page.getByRole('link', { name: `Messe ${mark}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Messe ${mark}` })).toBeVisible();
  await page.getByRole('link', { name: `Why is Ολυμπία Παπαδοπούλου ${mark} in this segment?` }).click();
  await expect(page.getByText(/^Added by .+ on .+\.$/)).toBeVisible();

  // A snapshot: frozen until refreshed.
  await page.goto('/staff/segments/new');
  await hydrated(page);
  await page.getByLabel('Name').fill(`Stand ${mark}`);
  await page.getByLabel(/^Snapshot/).check();
  await expect(page).toHaveURL(/Snapshot/);
  await hydrated(page);
  await condition(page, 1).getByLabel('Field').selectOption({ label: 'Last name' });
  await expect(condition(page, 1).getByLabel('Test')).toHaveValue('contains');
  await hydrated(page);
  await condition(page, 1).getByLabel('Value').fill(mark);
  await condition(page, 1).getByLabel('Value').press('Tab');
  await liveCount(page, '2 contacts match');
  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Stand ${mark}` })).toBeVisible();
  const url = page.url();
  await addPerson(page, 'Chloé', `Dubois ${mark}`, 'Paris');
  await page.goto(url);
  await hydrated(page);
  await expect(page.getByRole('definition').filter({ hasText: /^2$/ })).toBeVisible();
  await page.getByRole('button', { name: 'Refresh snapshot' }).click();
  await expect(page.getByRole('definition').filter({ hasText: /^3$/ })).toBeVisible();
  const history = page.getByRole('table').filter({ hasText: 'Taken' });
  await expect(history.getByRole('row')).toHaveCount(3);

  // The contact list's search saved as a dynamic segment.
  await page.goto(`/staff/contacts?q=${encodeURIComponent(mark)}`);
  await hydrated(page);
  await page.getByLabel('Segment name').fill(`Suche ${mark}`);
  await page.getByRole('button', { name: 'Save as segment' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Suche ${mark}` })).toBeVisible();
  await expect(page.getByText(`Name, email, phone or company contains “${mark}”`)).toBeVisible();
  await expect(page.getByText('3 contacts', { exact: true })).toBeVisible();
});
