import { test, expect } from './fixtures';
import { signIn, unique } from './helpers';
import { users, PASSWORD } from './users';

test('without JavaScript, the rule builder previews, adds and removes conditions, and keeps what was typed when a save fails', async ({ page }) => {
  test.setTimeout(90_000);
  const mark = unique();
  await page.goto('/login');
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  for (const [first, last] of [['Renée', `Lefèvre ${mark}`], ['Łukasz', `Wiśniewski ${mark}`]]) {
    await page.goto('/staff/contacts/new');
    await page.getByLabel('First name').fill(first);
    await page.getByLabel('Last name').fill(last);
    await page.getByRole('button', { name: 'Save contact' }).click();
    await expect(page.getByRole('heading', { level: 1, name: `${first} ${last}` })).toBeVisible();
  }

  await page.goto('/staff/segments/new');
  const first = page.getByRole('group', { name: 'Condition 1', exact: true });
  // A new field: "Preview" draws its tests, then counts.
  await first.getByLabel('Field').selectOption({ label: 'Last name' });
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await expect(first.getByLabel('Test')).toHaveValue('contains');
  // Enter in a value counts again (it does not press the first condition's "Remove").
  await first.getByLabel('Value').fill(mark);
  await first.getByLabel('Value').press('Enter');
  await expect(page.locator('.live-count')).toHaveText('2 contacts match');
  await expect(first).toBeVisible();
  // A second condition, left empty, is marked; removing it counts again.
  await page.getByRole('button', { name: 'Add a condition', exact: true }).click();
  const second = page.getByRole('group', { name: 'Condition 2', exact: true });
  await expect(second).toBeVisible();
  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page.getByText('Enter a name for the segment.')).toBeVisible();
  await expect(second.getByText('Enter a value.')).toBeVisible();
  await expect(first.getByLabel('Value')).toHaveValue(mark);
  await second.getByRole('button', { name: 'Remove condition 2' }).click();
  await expect(second).toHaveCount(0);
  await expect(page.locator('.live-count')).toHaveText('2 contacts match');
  await page.getByLabel('Name').fill(`Ohne Skript ${mark}`);
  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Ohne Skript ${mark}` })).toBeVisible();
  await expect(page.getByText('2 contacts', { exact: true })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Segment size over time' })).toBeVisible();
});
