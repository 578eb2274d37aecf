import { test, expect } from './fixtures';

test('without JavaScript the pages are complete from the server', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Welcome to Your company' })).toBeVisible();
  await page.getByRole('link', { name: 'System status' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'System status' })).toBeVisible();
  await expect(page.getByText(/reachable/i)).toBeVisible();
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'false');
});
