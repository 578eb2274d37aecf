import { test, expect } from './fixtures';
import { signIn, unique } from './helpers';
import { users, PASSWORD } from './users';

test('without JavaScript, staff add a contact, find it and tag it in bulk', async ({ page }) => {
  const mark = unique();
  const [easley, rocketry, centaur] = [`Easley ${mark}`, `Rocketry ${mark}`, `Centaur ${mark}`];
  await page.goto('/login');
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto('/staff/contacts/new');
  await page.getByLabel('First name').fill('Annie');
  await page.getByLabel('Last name').fill(easley);
  await page.getByLabel('Email').fill('annie@example');
  await page.getByLabel('Add tags').fill(rocketry);
  await page.getByLabel('Support').check();
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByLabel('Last name')).toHaveValue(easley);
  // Without JavaScript the typed tag comes back as a ticked chip.
  await expect(page.getByRole('checkbox', { name: rocketry })).toBeChecked();

  await page.getByLabel('Email').fill(`annie.${mark}@example.com`);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Annie ${easley}` })).toBeVisible();
  await expect(page.getByText(rocketry)).toBeVisible();

  await page.goto(`/staff/contacts?q=${mark}`);
  await page.getByLabel(`Select Annie ${easley}`).check();
  await page.getByLabel('Action').selectOption({ label: 'Add a tag' });
  await page.getByLabel('Tag name').fill(centaur);
  await page.getByRole('button', { name: 'Apply to selected' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${mark}&saved=1`));
  await expect(page.getByRole('row', { name: new RegExp(`Annie ${easley}`) })).toContainText(`${centaur}, ${rocketry}`);
});
