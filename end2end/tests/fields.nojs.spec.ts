import { test, expect } from './fixtures';
import { signIn, unique } from './helpers';
import { users, PASSWORD } from './users';

test('without JavaScript, staff define a number field, fill it with a mistake first, and filter by it', async ({ page }) => {
  test.setTimeout(90_000);
  const mark = unique();
  const [seats, last] = [`Plätze ${mark}`, `Groß ${mark}`];
  await page.goto('/login');
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto('/staff/settings/fields');
  const add = page.getByRole('region', { name: 'Add a field' });
  await add.getByLabel('Type', { exact: true }).selectOption({ label: 'Decimal number' });
  await add.getByLabel('Label', { exact: true }).fill(seats);
  await add.getByLabel('Decimals (decimal numbers)').fill('1');
  await add.getByRole('button', { name: 'Add field' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Field: ${seats}` })).toBeVisible();

  await page.goto('/staff/contacts/new');
  await page.getByLabel('First name').fill('Jürgen');
  await page.getByLabel('Last name').fill(last);
  await page.getByLabel(seats).fill('12,25');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Use at most 1 decimal.')).toBeVisible();
  await expect(page.getByLabel(seats)).toHaveValue('12,25');
  await expect(page.getByLabel('Last name')).toHaveValue(last);
  await page.getByLabel(seats).fill('12,5');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Jürgen ${last}` })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: /^12\.5$/ })).toBeVisible();

  // The filter form is a plain GET form: the address holds the range.
  await page.goto(`/staff/contacts?q=${mark}`);
  await page.getByText('Filter by extra fields').click();
  await page.getByRole('group', { name: seats }).getByLabel('From').fill('13');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('0 contacts')).toBeVisible();
  await page.getByRole('group', { name: seats }).getByLabel('From').fill('12.5');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('1 contact', { exact: true })).toBeVisible();

  // Tidy up: the field goes, with its value.
  await page.goto('/staff/settings/fields');
  await page.getByRole('link', { name: `Edit ${seats}` }).click();
  await page.getByLabel(`Yes, delete ${seats} and its values on 1 contacts`).check();
  await page.getByRole('button', { name: 'Delete field' }).click();
  await expect(page.getByText('Deleted.')).toBeVisible();
});
