import { test, expect } from './fixtures';
import { hydrated, signIn } from './helpers';
import { users, PASSWORD } from './users';

// Every journey runs under the pages' Content-Security-Policy, and the fixture fails any test
// whose pages report an error, a refused script included: hydration works under the policy
// everywhere. This one performs the attacks the policy is for.
test('pages hydrate under their policy, and injected scripts and framing are refused', async ({ page, scriptErrors }) => {
  const response = await page.goto('/login');
  const policy = response?.headers()['content-security-policy'] ?? '';
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'/);
  expect(policy).toContain("frame-ancestors 'none'");
  await hydrated(page);
  await signIn(page, users.admin.email, PASSWORD);
  await expect(page).toHaveURL(/\/staff$/);
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Contacts' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Contacts' })).toBeVisible();

  // A script that found its way into the page (through some other hole) does not run.
  scriptErrors.allow(/Content Security Policy/);
  const ran = await page.evaluate(() => {
    const injected = document.createElement('script');
    injected.textContent = 'window.__injected = true;';
    document.body.appendChild(injected);
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);

  // Another page framing the app (to make a signed-in user click in it unawares) gets nothing.
  const contactsUrl = page.url();
  await page.setContent(`<h1>Win a prize</h1><iframe title="prize" src="${contactsUrl}"></iframe>`);
  const frame = page.frameLocator('iframe[title="prize"]');
  await expect(frame.getByRole('heading', { level: 1, name: 'Contacts' })).toHaveCount(0);
  const framed = page.frames().find((f) => f !== page.mainFrame());
  await expect.poll(() => framed?.url()).toMatch(/^chrome-error:/);
  await page.goto(contactsUrl);
  await expect(page.getByRole('heading', { level: 1, name: 'Contacts' })).toBeVisible();
});
