// A decimal is read the Vietnamese way ("1,25" is one and a quarter, "1.250"
// twelve hundred and fifty). Someone who types "1,250" meaning the English
// twelve hundred and fifty got 1.25 stored, unseen. The field now says what
// it read, in the reader's own notation.

import { PHONE, expect, test } from './support/fixtures';
import { startNewVisit } from './support/newVisit';

test.use({ ...PHONE });

test('a decimal answer says how it was read, in either language', async ({ page }) => {
  const { visit } = await startNewVisit(page);
  const read = visit.fieldBox('workshop_area').getByTestId('field-workshop_area-read');
  await visit.fillField('workshop_area', '1,250');
  await expect(read).toHaveText('Đọc là: 1,25');
  await visit.fillField('workshop_area', '12.500');
  await expect(read).toHaveText('Đọc là: 12.500');
  await visit.click(page.getByTestId('lang-switch'));
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(read).toHaveText('Read as: 12,500');
  await visit.fillField('workshop_area', '1,250');
  await expect(read).toHaveText('Read as: 1.25');
  await visit.fillField('workshop_area', '');
  await expect(read).toHaveText('');
});
