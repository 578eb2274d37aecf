import { test, expect, type Page } from './fixtures';
import { addContact, asAdmin, hydrated, unique } from './helpers';

test('staff log a call on a contact, edit it, and delete it', async ({ page }) => {
  const boyd = `Boyd ${unique()}`;
  await asAdmin(page);
  await addContact(page, 'Evelyn', boyd);
  const activity = page.getByRole('region', { name: 'Activity' });
  await expect(activity.getByText('Added the contact')).toBeVisible();

  // A call with neither subject nor details is explained, and the chosen time is kept.
  await activity.getByLabel('Type').selectOption({ label: 'Call' });
  await activity.getByLabel('When').fill('2026-11-24T10:30');
  await activity.getByRole('button', { name: 'Log activity' }).click();
  await expect(activity.getByText('Write what happened, or give it a subject.')).toBeVisible();
  await expect(activity.getByLabel('When')).toHaveValue('2026-11-24T10:30');

  await activity.getByLabel('Subject').fill('Discussed trajectories');
  await activity.getByLabel('Details').fill('She checked the numbers.\nNotes: https://example.com/orbits');
  await activity.getByRole('button', { name: 'Log activity' }).click();
  await expect(page.getByText('Activity logged.')).toBeVisible();
  const call = activity.getByRole('article', { name: 'Discussed trajectories' });
  await expect(call).toContainText('10:30 · by Ada Admin');
  await expect(call.getByRole('link', { name: 'https://example.com/orbits' })).toHaveAttribute(
    'href',
    'https://example.com/orbits',
  );

  // Filter the timeline by type.
  await activity.getByRole('link', { name: 'Notes' }).click();
  await expect(page).toHaveURL(/kind=note/);
  await expect(activity.getByText('Nothing here yet.')).toBeVisible();
  await activity.getByRole('link', { name: 'Calls' }).click();
  await expect(activity.getByRole('article', { name: 'Discussed trajectories' })).toBeVisible();
  await expect(activity.getByText('Added the contact')).toHaveCount(0);

  // Edit: the entry then says it was edited.
  await activity.getByRole('link', { name: 'Edit call: Discussed trajectories' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Edit call' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Subject').fill('Discussed re-entry');
  await page.getByRole('button', { name: 'Save activity' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Evelyn ${boyd}` })).toBeVisible();
  const edited = page.getByRole('article', { name: 'Discussed re-entry' });
  await expect(edited).toContainText('edited');

  // Delete, after confirming.
  await edited.getByRole('link', { name: 'Edit call: Discussed re-entry' }).click();
  await hydrated(page);
  await page.getByLabel('Yes, delete this entry for good').check();
  await page.getByRole('button', { name: 'Delete activity' }).click();
  await expect(page.getByText('Deleted.')).toBeVisible();
  await expect(page.getByRole('article', { name: 'Discussed re-entry' })).toHaveCount(0);
});

test('a task added on a contact is completed from the dashboard', async ({ page }) => {
  const mark = unique();
  await asAdmin(page);
  await addContact(page, 'Dorothy', `Vaughan ${mark}`);
  const activity = page.getByRole('region', { name: 'Activity' });
  await activity.getByLabel('Type').selectOption({ label: 'Task' });
  await activity.getByLabel('Subject').fill('Send the FORTRAN course');
  await activity.getByLabel('Due date (tasks)').fill('2026-01-05');
  await activity.getByRole('button', { name: 'Log activity' }).click();
  await expect(page.getByText('Activity logged.')).toBeVisible();
  await expect(activity.getByRole('article', { name: 'Send the FORTRAN course' })).toContainText(
    'Due 2026-01-05. Open.',
  );

  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Dashboard' }).click();
  const tasks = page.getByRole('region', { name: 'My open tasks' });
  const item = tasks
    .getByRole('listitem')
    .filter({ hasText: 'Send the FORTRAN course' })
    .filter({ hasText: `Dorothy Vaughan ${mark}` });
  await expect(item).toBeVisible();
  await expect(item).toContainText('Overdue: was due 2026-01-05');
  await hydrated(page);
  await item.getByRole('button', { name: 'Mark done: Send the FORTRAN course' }).click();
  await expect(item).toHaveCount(0);

  await page.goto(`/staff/contacts?q=${mark}`);
  await page.getByRole('link', { name: `Dorothy Vaughan ${mark}` }).click();
  await expect(page.getByRole('article', { name: 'Send the FORTRAN course' })).toContainText('Done.');
});

test("changing a contact's status and tags adds a history entry with before and after", async ({ page }) => {
  await asAdmin(page);
  await addContact(page, 'Eunice', `Smith ${unique()}`);
  await page.getByRole('link', { name: 'Edit contact' }).click();
  await hydrated(page);
  await page.getByLabel('Status').selectOption({ label: 'Customer' });
  await page.getByLabel('Add tags').fill('Wind tunnel, Engineering');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Changes saved.')).toBeVisible();

  const activity = page.getByRole('region', { name: 'Activity' });
  await activity.getByRole('link', { name: 'Changes' }).click();
  const entry = activity.getByRole('article', { name: 'Edited the contact' });
  await expect(entry).toContainText('by Ada Admin');
  await expect(entry.getByRole('listitem').filter({ hasText: 'Status' })).toHaveText('Status: (empty) → Customer');
  await expect(entry.getByRole('listitem').filter({ hasText: 'Tags' })).toHaveText(
    'Tags: (empty) → Engineering, Wind tunnel',
  );
  // Automatic entries offer no edit.
  await expect(entry.getByRole('link', { name: /Edit/ })).toHaveCount(0);
});
