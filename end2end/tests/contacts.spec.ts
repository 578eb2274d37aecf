import { test, expect, type Page } from '@playwright/test';
import { hydrated, signIn } from './helpers';
import { users, PASSWORD } from './users';

async function asAdmin(page: Page) {
  await page.goto('/login');
  await hydrated(page);
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
}

test('staff add a contact with a new tag, find it, edit it, and delete it', async ({ page }) => {
  await asAdmin(page);
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Contacts' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Contacts' })).toBeVisible();
  await page.getByRole('link', { name: 'Add contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add contact' })).toBeVisible();
  await hydrated(page);

  // A bad email is explained next to the field, and nothing typed is lost.
  await page.getByLabel('First name').fill('Margaret');
  await page.getByLabel('Last name').fill('Hamilton');
  await page.getByLabel('Email').fill('margaret@example');
  await page.getByLabel('Company').fill('MIT Instrumentation Lab');
  await page.getByLabel('Tags').fill('Apollo, Software');
  await page.getByLabel('Status').selectOption({ label: 'Prospect' });
  await page.getByLabel('Consulting').check();
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByLabel('Company')).toHaveValue('MIT Instrumentation Lab');
  await expect(page.getByLabel('Tags')).toHaveValue('Apollo, Software');

  await page.getByLabel('Email').fill('margaret@example.com');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Margaret Hamilton' })).toBeVisible();
  await expect(page.getByText('Changes saved.')).toBeVisible();
  await expect(page.getByText('Apollo, Software')).toBeVisible();
  await expect(page.getByText('Prospect', { exact: true })).toBeVisible();

  // Found by search, and by the new tag.
  await page.goto('/staff/contacts');
  await page.getByLabel('Search').fill('HAMILTON');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=HAMILTON/);
  await expect(page.getByRole('link', { name: 'Margaret Hamilton' })).toBeVisible();
  await expect(page.getByText('1 contact', { exact: true })).toBeVisible();
  await page.goto('/staff/contacts');
  await page.getByLabel('Tag').selectOption({ label: 'Apollo' });
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('link', { name: 'Margaret Hamilton' })).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(/\/staff\/contacts$/);

  // Edit.
  await page.goto('/staff/contacts?q=hamilton');
  await page.getByRole('link', { name: 'Margaret Hamilton' }).click();
  await page.getByRole('link', { name: 'Edit contact' }).click();
  await hydrated(page);
  await page.getByLabel('Job title').fill('Director of Software Engineering');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Director of Software Engineering')).toBeVisible();

  // Delete, after confirming.
  await hydrated(page);
  await page.getByLabel('Yes, delete Margaret Hamilton for good').check();
  await page.getByRole('button', { name: 'Delete contact' }).click();
  await expect(page).toHaveURL(/\/staff\/contacts\?deleted=1$/);
  await page.goto('/staff/contacts?q=hamilton');
  await expect(page.getByText('0 contacts')).toBeVisible();
});

test('a save over someone else\'s newer save is refused and keeps the input', async ({ browser }) => {
  const first = await (await browser.newContext()).newPage();
  await asAdmin(first);
  await first.goto('/staff/contacts/new');
  await hydrated(first);
  await first.getByLabel('First name').fill('Katherine');
  await first.getByLabel('Last name').fill('Johnson');
  await first.getByRole('button', { name: 'Save contact' }).click();
  await expect(first.getByRole('heading', { level: 1, name: 'Katherine Johnson' })).toBeVisible();
  const profile = first.url().replace(/\?.*$/, '');

  // Two tabs open the edit form; the second one saves first.
  const second = await first.context().newPage();
  await first.goto(`${profile}/edit`);
  await hydrated(first);
  await second.goto(`${profile}/edit`);
  await hydrated(second);
  await second.getByLabel('Company').fill('NASA Langley');
  await second.getByRole('button', { name: 'Save contact' }).click();
  await expect(second.getByText('NASA Langley')).toBeVisible();

  await first.getByLabel('Company').fill('NACA');
  await first.getByRole('button', { name: 'Save contact' }).click();
  await expect(first.getByRole('alert')).toContainText('Someone else saved this contact');
  await expect(first.getByLabel('Company')).toHaveValue('NACA');
});

test('the dashboard counts contacts by status and links to the filtered list', async ({ page }) => {
  await asAdmin(page);
  await expect(page.getByRole('link', { name: 'View all contacts' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Contacts by status' });
  await expect(table).toBeVisible();
  await expect(table.getByRole('row')).toHaveCount(5);
});
