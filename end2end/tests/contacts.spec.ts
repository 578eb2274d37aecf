import { test, expect, type Page } from './fixtures';
import { addContact, asAdmin, hydrated, signIn, unique } from './helpers';

test('staff add a contact with a new tag, find it, edit it, and delete it', async ({ page }) => {
  const mark = unique();
  const [hamilton, apollo, software] = [`Hamilton ${mark}`, `Apollo ${mark}`, `Software ${mark}`];
  await asAdmin(page);
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Contacts' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Contacts' })).toBeVisible();
  await page.getByRole('link', { name: 'Add contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add contact' })).toBeVisible();
  await hydrated(page);

  // A bad email is explained next to the field, and nothing typed is lost.
  await page.getByLabel('First name').fill('Margaret');
  await page.getByLabel('Last name').fill(hamilton);
  await page.getByLabel('Email').fill('margaret@example');
  await page.getByLabel('Company').fill('MIT Instrumentation Lab');
  // Tags: Enter turns a typed name into a chip; a name left in the field is sent as typed.
  await page.getByLabel('Add tags').fill(apollo);
  await page.getByLabel('Add tags').press('Enter');
  await expect(page.getByRole('checkbox', { name: apollo })).toBeChecked();
  await expect(page.getByLabel('Add tags')).toHaveValue('');
  await page.getByLabel('Add tags').fill(software);
  await page.getByLabel('Status').selectOption({ label: 'Prospect' });
  await page.getByLabel('Consulting').check();
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByLabel('Company')).toHaveValue('MIT Instrumentation Lab');
  await expect(page.getByRole('checkbox', { name: apollo })).toBeChecked();
  await expect(page.getByLabel('Add tags')).toHaveValue(software);

  await page.getByLabel('Email').fill(`margaret.${mark}@example.com`);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Margaret ${hamilton}` })).toBeVisible();
  await expect(page.getByText('Changes saved.')).toBeVisible();
  await expect(page.getByText(`${apollo}, ${software}`)).toBeVisible();
  await expect(page.getByText('Prospect', { exact: true })).toBeVisible();

  // Found by search, and by the new tag.
  await page.goto('/staff/contacts');
  await page.getByLabel('Search').fill(hamilton.toUpperCase());
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=HAMILTON/);
  await expect(page.getByRole('link', { name: `Margaret ${hamilton}` })).toBeVisible();
  await expect(page.getByText('1 contact', { exact: true })).toBeVisible();
  await page.goto('/staff/contacts');
  await page.getByLabel('Tag', { exact: true }).selectOption({ label: apollo });
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('link', { name: `Margaret ${hamilton}` })).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(/\/staff\/contacts$/);

  // Edit.
  await page.goto(`/staff/contacts?q=${mark}`);
  await page.getByRole('link', { name: `Margaret ${hamilton}` }).click();
  await page.getByRole('link', { name: 'Edit contact' }).click();
  await hydrated(page);
  await page.getByLabel('Job title').fill('Director of Software Engineering');
  // Removing a tag: untick its chip.
  await page.getByRole('checkbox', { name: software }).uncheck();
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('Director of Software Engineering', { exact: true })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: new RegExp(`^${apollo}$`) })).toBeVisible();

  // Delete, after confirming.
  await hydrated(page);
  await page.getByLabel(`Yes, delete Margaret ${hamilton} for good`).check();
  await page.getByRole('button', { name: 'Delete contact' }).click();
  await expect(page).toHaveURL(/\/staff\/contacts\?deleted=1$/);
  await page.goto(`/staff/contacts?q=${mark}`);
  await expect(page.getByText('0 contacts')).toBeVisible();
});

test('a save over someone else\'s newer save is refused and keeps the input', async ({ page: first }) => {
  await asAdmin(first);
  await addContact(first, 'Katherine', `Johnson ${unique()}`);
  const profile = first.url().replace(/\?.*$/, '');

  // Two tabs open the edit form; the second one saves first.
  const second = await first.context().newPage();
  await first.goto(`${profile}/edit`);
  await hydrated(first);
  await second.goto(`${profile}/edit`);
  await hydrated(second);
  await second.getByLabel('Company').fill('NASA Langley');
  await second.getByRole('button', { name: 'Save contact' }).click();
  await expect(second.getByText('NASA Langley', { exact: true })).toBeVisible();

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
  // The statuses every installation starts with (settings may have added more).
  for (const status of ['Lead', 'Prospect', 'Customer', 'Inactive']) {
    await expect(table.getByRole('row').filter({ hasText: status })).toHaveCount(1);
  }
});

test('a contact invited to the portal sets a password and sees only their own details', async ({ page: staff, newPage }) => {
  const mark = unique();
  const [vaughan, email] = [`Vaughan ${mark}`, `dorothy.${mark}@example.com`];
  await asAdmin(staff);
  await staff.goto('/staff/contacts/new');
  await hydrated(staff);
  await staff.getByLabel('First name').fill('Dorothy');
  await staff.getByLabel('Last name').fill(vaughan);
  await staff.getByLabel('Email').fill(email);
  await staff.getByLabel('Phone').fill('+1 757 555 0142');
  await staff.getByLabel('City').fill('Hampton');
  await staff.getByRole('button', { name: 'Save contact' }).click();
  await expect(staff.getByRole('heading', { level: 1, name: `Dorothy ${vaughan}` })).toBeVisible();
  await hydrated(staff);
  await expect(staff.getByText('This contact has no portal access.')).toBeVisible();
  await staff.getByRole('button', { name: 'Invite to portal' }).click();
  const link = await staff.getByLabel('Link to send').inputValue();
  await expect(staff.getByText(`${email} can sign in to the portal`)).toBeVisible();

  const client = await newPage();
  await client.goto(link);
  await hydrated(client);
  await client.getByLabel('New password').fill('computers in the west area');
  await client.getByRole('button', { name: 'Set password' }).click();
  await expect(client).toHaveURL(/password_set=1/);
  await signIn(client, email, 'computers in the west area');
  await expect(client).toHaveURL(/\/portal$/);
  await client.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Your details' }).click();
  const record = client.getByRole('region', { name: 'What we have on file' });
  await expect(record.getByText('+1 757 555 0142')).toBeVisible();
  await expect(record.getByText('Hampton')).toBeVisible();
  await expect(client.getByText('Katherine')).toHaveCount(0);
  const response = await client.goto('/staff/contacts');
  expect(response?.status()).toBe(403);

  // Staff revoke the access: the client's session ends.
  await staff.getByRole('button', { name: 'Revoke portal access' }).click();
  await expect(staff.getByText(`Portal access for ${email} is revoked.`)).toBeVisible();
  await client.goto('/portal/details');
  await expect(client).toHaveURL(/\/login\?next=\/portal\/details$/);
});

test('the filtered list downloads as CSV', async ({ page }) => {
  const mark = unique();
  const johnson = `Johnson ${mark}`;
  await asAdmin(page);
  await addContact(page, 'Katherine', johnson);
  await addContact(page, 'Kathleen', `Booth ${unique()}`);
  await page.goto(`/staff/contacts?q=${mark}`);
  await hydrated(page);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^contacts-\d{4}-\d{2}-\d{2}\.csv$/);
  const stream = await download.createReadStream();
  let text = '';
  for await (const chunk of stream) text += chunk;
  const lines = text.trim().split('\n');
  expect(lines[0]).toContain('First name,Last name,Email');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(`Katherine,${johnson}`);
});

test('two contacts are tagged at once from the list', async ({ page }) => {
  const mark = unique();
  const tag = `Hidden Figures ${mark}`;
  await asAdmin(page);
  for (const [first, last] of [['Mary', 'Jackson'], ['Christine', 'Darden'], ['Katherine', 'Johnson']]) {
    await addContact(page, first, `${last} ${mark}`);
  }
  await page.goto(`/staff/contacts?q=${mark}`);
  await hydrated(page);
  await page.getByLabel(`Select Mary Jackson ${mark}`).check();
  await page.getByLabel(`Select Christine Darden ${mark}`).check();
  await page.getByLabel('Action').selectOption({ label: 'Add a tag' });
  await page.getByLabel('Tag name').fill(tag);
  await page.getByRole('button', { name: 'Apply to selected' }).click();
  await expect(page.getByText('Changes saved.')).toBeVisible();
  await expect(page.getByRole('row', { name: new RegExp(`Mary Jackson ${mark}`) })).toContainText(tag);
  await expect(page.getByRole('row', { name: new RegExp(`Christine Darden ${mark}`) })).toContainText(tag);
  await expect(page.getByRole('row', { name: new RegExp(`Katherine Johnson ${mark}`) })).not.toContainText(tag);
});

test('the tags page counts contacts per tag and renames a tag', async ({ page }) => {
  const mark = unique();
  const [tag, renamed] = [`Hidden Figures ${mark}`, `Pioneers ${mark}`];
  await asAdmin(page);
  await addContact(page, 'Mary', `Jackson ${mark}`, { tags: tag });
  await addContact(page, 'Christine', `Darden ${mark}`, { tags: tag });
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Tags' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Tags' })).toBeVisible();
  await page.getByRole('link', { name: `2 contacts tagged ${tag}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Contacts' })).toBeVisible();
  await expect(page.getByText('2 contacts', { exact: true })).toBeVisible();

  await page.goto('/staff/tags');
  await hydrated(page);
  await page.getByLabel('Tag to rename').selectOption({ label: tag });
  await page.getByLabel('New name').fill(renamed);
  await page.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByText('Changes saved.')).toBeVisible();
  await expect(page.getByRole('link', { name: `2 contacts tagged ${renamed}` })).toBeVisible();
});

test('settings: a new status is added, moved, and deleted with its contacts moved', async ({ page }) => {
  const partner = `Partner ${unique()}`;
  await asAdmin(page);
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await hydrated(page);
  const statuses = page.getByRole('region', { name: 'Statuses' });
  await statuses.getByLabel('Name', { exact: true }).fill(partner);
  await statuses.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByText('Changes saved.')).toBeVisible();
  const rows = statuses.getByRole('row');
  await expect(rows.last()).toContainText(partner);
  const count = await rows.count();
  await statuses.getByRole('button', { name: `Move ${partner} up` }).click();
  await expect(rows.nth(count - 2)).toContainText(partner);
  await expect(rows.last()).not.toContainText(partner);

  await statuses.getByLabel('Name', { exact: true }).fill('lead');
  await statuses.getByRole('button', { name: 'Add' }).click();
  await expect(statuses.getByText('This list already has an entry with that name.')).toBeVisible();

  await statuses.getByLabel('Status to delete').selectOption({ label: partner });
  await statuses.getByLabel('Move its contacts to').selectOption({ label: 'Lead' });
  await statuses.getByLabel('Yes, delete it').check();
  await statuses.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('Deleted.')).toBeVisible();
  await expect(statuses.getByRole('row', { name: new RegExp(partner) })).toHaveCount(0);
});
