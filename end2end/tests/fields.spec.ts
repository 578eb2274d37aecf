import { test, expect } from './fixtures';
import { asAdmin, hydrated, signIn, unique } from './helpers';

test('staff define a select and a date field, fill them, filter, sort, pick columns, export, and see the history and the portal', async ({ page, newPage }) => {
  // The whole story in one journey: longer than one page's test.
  test.setTimeout(120_000);
  const mark = unique();
  const [plan, start, note] = [`Tarif ${mark}`, `Beginn ${mark}`, `Vermerk ${mark}`];
  const [last, email] = [`Ørsted ${mark}`, `zoe.${mark}@example.dk`];
  await asAdmin(page);
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Contact fields' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Contact fields' })).toBeVisible();
  await hydrated(page);

  // A select field shown in the portal, with two options.
  const add = page.getByRole('region', { name: 'Add a field' });
  await add.getByLabel('Type', { exact: true }).selectOption({ label: 'Single select' });
  await add.getByLabel('Label', { exact: true }).fill(plan);
  await add.getByLabel('Options (select fields), one per line').fill('Basis\nPremium ⭐');
  await add.getByLabel('In the client portal').selectOption({ label: 'Shown to the client' });
  await add.getByRole('button', { name: 'Add field' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Field: ${plan}` })).toBeVisible();
  await expect(page.getByText('Changes saved.')).toBeVisible();
  const options = page.getByRole('region', { name: 'Options' });
  await expect(options.getByText('Premium ⭐', { exact: true })).toBeVisible();

  // A date field and a text field, both hidden from the portal; a bad default is explained.
  for (const [kind, label, fill] of [['Date', start, 'morgen'], ['Single-line text', note, '']]) {
    await page.goto('/staff/settings/fields');
    await hydrated(page);
    await add.getByLabel('Type', { exact: true }).selectOption({ label: kind });
    await add.getByLabel('Label', { exact: true }).fill(label);
    if (fill) {
      await add.getByLabel('Default value').fill(fill);
      await add.getByRole('button', { name: 'Add field' }).click();
      await expect(add.getByText('Enter a date like 2026-12-31.')).toBeVisible();
      await expect(add.getByLabel('Label', { exact: true })).toHaveValue(label);
      await add.getByLabel('Default value').fill('');
    }
    await add.getByRole('button', { name: 'Add field' }).click();
    await expect(page.getByRole('heading', { level: 1, name: `Field: ${label}` })).toBeVisible();
  }

  // Fill both on a new contact.
  await page.goto('/staff/contacts/new');
  await hydrated(page);
  await page.getByLabel('First name').fill('Zoë');
  await page.getByLabel('Last name').fill(last);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(plan).selectOption({ label: 'Premium ⭐' });
  await page.getByLabel(start).fill('2027-03-15');
  await page.getByLabel(note).fill('Ruft morgens an ☕');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Zoë ${last}` })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: /^Premium ⭐$/ })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: /^2027-03-15$/ })).toBeVisible();

  // An edit of the date shows in the change history with its label.
  await hydrated(page);
  await page.getByRole('link', { name: 'Edit contact' }).click();
  await hydrated(page);
  await expect(page.getByLabel(start)).toHaveValue('2027-03-15');
  await page.getByLabel(start).fill('2027-04-01');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('definition').filter({ hasText: /^2027-04-01$/ })).toBeVisible();
  await expect(page.getByText(start).last()).toBeVisible();
  await expect(page.getByText('2027-03-15')).toBeVisible();
  const profile = page.url().replace(/\?.*$/, '');

  // A second contact on the basic plan without a date.
  await page.goto('/staff/contacts/new');
  await hydrated(page);
  await page.getByLabel('First name').fill('Ünal');
  await page.getByLabel('Last name').fill(last);
  await page.getByLabel(plan).selectOption({ label: 'Basis' });
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Ünal ${last}` })).toBeVisible();

  // The list: show the two columns, filter by the select, sort by the date.
  await page.goto(`/staff/contacts?q=${mark}`);
  await hydrated(page);
  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('checkbox', { name: plan }).check();
  await page.getByRole('checkbox', { name: start }).check();
  // Positions tie in the form's order: the date goes first, ahead of the email.
  await page.getByLabel(`Position of ${start}`).fill('1');
  await page.getByLabel('Position of Email').fill('2');
  await page.getByRole('button', { name: 'Save columns' }).click();
  await expect(page.getByRole('columnheader', { name: start })).toBeVisible();
  // The list's own table (the column picker's comes first): select, name, then the date.
  const headers = await page.locator('table').last().getByRole('columnheader').allInnerTexts();
  expect(headers.map((h) => h.trim()).indexOf(start)).toBe(2);
  await expect(page.getByRole('row', { name: new RegExp(`Zoë ${last}`) })).toContainText('Premium ⭐');

  await page.getByText('Filter by extra fields').click();
  await page.getByRole('group', { name: plan }).getByLabel('Premium ⭐').check();
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/f\.tarif_/);
  await expect(page.getByText('1 contact', { exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: `Zoë ${last}` })).toBeVisible();
  await page.goto(`/staff/contacts?q=${mark}`);
  await page.getByRole('link', { name: start }).click();
  await expect(page).toHaveURL(/sort=f\.beginn_/);
  // Ascending by date: the contact without one comes last.
  await expect(page.getByRole('row').nth(1)).toContainText(`Zoë ${last}`);
  await expect(page.getByRole('row').nth(2)).toContainText(`Ünal ${last}`);

  // The export has a column per extra field, values as they import back.
  const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  const csv = await (await page.request.get(href!)).text();
  const [header, ...rows] = csv.trim().split('\n');
  expect(header).toContain(`${plan},${start},${note}`);
  expect(rows.find((r) => r.includes('Zoë'))).toContain('Premium ⭐,2027-04-01,Ruft morgens an ☕');

  // The portal shows the field marked shown; the hidden ones are not in its HTML at all.
  await page.goto(profile);
  await hydrated(page);
  await page.getByRole('button', { name: 'Invite to portal' }).click();
  const link = await page.getByLabel('Link to send').inputValue();
  const client = await newPage();
  await client.goto(link);
  await hydrated(client);
  await client.getByLabel('New password').fill('pfefferminz am morgen');
  await client.getByRole('button', { name: 'Set password' }).click();
  await expect(client).toHaveURL(/password_set=1/);
  await signIn(client, email, 'pfefferminz am morgen');
  await expect(client).toHaveURL(/\/portal$/);
  await client.goto('/portal/details');
  const record = client.getByRole('region', { name: 'What we have on file' });
  await expect(record.getByText(plan)).toBeVisible();
  await expect(record.getByText('Premium ⭐')).toBeVisible();
  const html = await client.content();
  expect(html).not.toContain(start);
  expect(html).not.toContain('2027-04-01');
  expect(html).not.toContain('Ruft morgens an');

  // Deleting a field says how many contacts hold a value and asks first.
  for (const label of [plan, start, note]) {
    await page.goto('/staff/settings/fields');
    await page.getByRole('link', { name: `Edit ${label}` }).click();
    await hydrated(page);
    const holding = label === note ? 1 : label === start ? 1 : 2;
    await page.getByLabel(`Yes, delete ${label} and its values on ${holding} contacts`).check();
    await page.getByRole('button', { name: 'Delete field' }).click();
    await expect(page.getByText('Deleted.')).toBeVisible();
  }
  await page.goto(profile);
  // The values are gone from the profile; the change history keeps what the contact had.
  await expect(page.getByRole('definition').filter({ hasText: /^Premium ⭐$/ })).toHaveCount(0);
  await expect(page.getByText('2027-03-15')).toBeVisible();
  await expect(page.getByText(start).first()).toBeVisible();
});
