// A form written as KoboToolbox and ODK write them (language columns, groups,
// a repeat, relevant with selected(), a regex constraint with its message)
// comes in as an XLSForm: the administrator sees what is wrong with a bad file,
// previews the good one in both languages with its conditions working,
// publishes it and downloads it back as XLSForm. An inspector then fills a
// visit against it on a phone, and the server accepts it with the same rules.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as XLSX from 'xlsx';
import { expectAccessible } from './support/accessibility';
import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { REPO_ROOT, startServer, type KhaosatServer } from './support/server';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

const KOBO_STYLE = resolve(REPO_ROOT, 'app/tests/xlsform/kobo_style.xlsx');

/** An XLSForm with three problems: a calculate row, its calculation and a
 *  label that refers to an answer. */
function unsupportedBook() {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(
    book,
    XLSX.utils.aoa_to_sheet([
      ['type', 'name', 'label', 'calculation'],
      ['integer', 'a', 'A'],
      ['calculate', 'total', '', '${a} * 2'],
      ['text', 'b', 'B ${a}'],
    ]),
    'survey',
  );
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['form_id'], ['thu']]), 'settings');
  return {
    name: 'thu.xlsx',
    mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    buffer: XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer,
  };
}

// Publishing a new version of the default form changes every later visit: a
// server of its own.
let server: KhaosatServer | undefined;

test.beforeAll(async () => {
  server = await startServer({ name: 'xlsform' });
});

test.afterAll(async () => {
  await server?.stop();
});

test('an XLSForm is previewed, published, exported, and filled on a phone', async ({ newContext }) => {
  test.slow();
  if (!server) throw new Error('the dedicated server did not start');
  const office = await (await newContext({ ...DESKTOP, baseURL: server.baseURL, label: 'admin' })).newPage();
  const login = new LoginPage(office);
  await login.goto();
  await login.loginAs('quantri');
  await login.open('/admin/forms');
  await login.waitHydrated();
  const section = office.getByTestId('xlsform-section');

  await test.step('a file that is no XLSForm is refused with the reason, nothing published', async () => {
    await section.getByTestId('xlsform-file').setInputFiles({
      name: 'danh-sach.xlsx',
      mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      buffer: Buffer.from('ma,ten\n1,Cơ sở\n'),
    });
    await expect(section.getByTestId('xlsform-error')).toBeVisible();
    await expect(section.getByTestId('xlsform-problem')).toHaveCount(1);
    await expect(section.getByTestId('xlsform-problem')).toHaveAttribute('data-code', 'xlsform.unreadable');
    await expect(section.getByTestId('xlsform-problem')).toContainText('Không đọc được tệp');
    await expect(office.getByTestId('form-version')).toHaveCount(1);
  });

  await test.step('a JSON definition with a name used twice is refused in Vietnamese, nothing published', async () => {
    const field = { key: 'so_lao_dong', type: 'integer', label: { vi: 'Số lao động', en: 'Workforce' } };
    const definition = {
      id: 'thu-nghiem', version: 1, title: { vi: 'Thử nghiệm', en: 'Trial' },
      sections: [{ key: 's', title: { vi: 'S', en: 'S' }, fields: [field, field] }],
    };
    await office.getByTestId('form-json').fill(JSON.stringify(definition));
    await office.getByTestId('form-publish').click();
    const error = office.getByTestId('form-error');
    await expect(error).toContainText('Tên mục «so_lao_dong» được dùng hai lần');
    // The server's English detail stays out of the administrator's sentence.
    await expect(error).not.toContainText('is used twice');
    await expect(office.getByTestId('form-version')).toHaveCount(1);
  });

  await test.step('an XLSForm with unsupported parts lists every problem by sheet, row and column', async () => {
    await section.getByTestId('xlsform-file').setInputFiles(unsupportedBook());
    const problems = section.getByTestId('xlsform-problem');
    await expect(problems).toHaveCount(3);
    await expect(problems.nth(0)).toContainText('survey · 3 · calculation (D)');
    await expect(problems.nth(1)).toContainText('survey · 3 · type (A): Kiểu calculate không được hỗ trợ');
    await expect(problems.nth(2)).toHaveAttribute('data-code', 'xlsform.label_reference');
    await expectAccessible(office, 'XLSForm problems');
  });

  await test.step('the Kobo-style form, chosen while the last file is still read, previews with its conditions', async () => {
    // The bad file's answer is held until the Kobo-style file's preview shows:
    // an answer to an earlier choice, arriving last, must not replace it.
    const bad = unsupportedBook();
    let releaseBad!: () => void;
    const badHeld = new Promise<void>((resolve) => (releaseBad = resolve));
    let conversions = 0;
    await office.route('**/api/forms/xlsform', async (route) => {
      conversions += 1;
      if (conversions > 1) return route.continue();
      const response = await route.fetch();
      await badHeld;
      await route.fulfill({ response });
    });
    const badAnswered = office.waitForEvent('requestfinished', (r) =>
      Boolean(r.url().endsWith('/api/forms/xlsform') && r.postDataBuffer()?.equals(bad.buffer)),
    );
    await section.getByTestId('xlsform-file').setInputFiles(bad);
    await expect.poll(() => conversions, { message: 'the bad file is being converted' }).toBe(1);
    // Chosen through the picker: the input forgets the bad file as it opens,
    // so that a file fixed and chosen again under its name is read again.
    const chooser = office.waitForEvent('filechooser');
    await section.getByTestId('xlsform-file').click();
    const picker = await chooser;
    await expect(section.getByTestId('xlsform-file')).toHaveValue('');
    await picker.setFiles(KOBO_STYLE);
    const preview = section.getByTestId('xlsform-preview');
    await expect(preview).toBeVisible();
    releaseBad();
    await badAnswered;
    await office.unroute('**/api/forms/xlsform');
    await expect(section.getByTestId('xlsform-error')).toHaveCount(0);
    await expect(preview).toContainText('khuyen-cong · v2');
    await expect(preview).toContainText('Người trả lời');
    // start, end, deviceid and the "style" setting are left out, and said so.
    await expect(preview.getByTestId('xlsform-note')).toHaveCount(4);
    const machinery = preview.locator('[data-testid="preview-field"][data-key="may_moc_khac"]');
    await expect(machinery).toBeHidden();
    await preview.getByTestId('field-ho_tro-may_moc').check();
    await expect(machinery).toBeVisible();
    await expect(machinery.getByTestId('preview-condition')).toHaveText("⟂ selected(ho_tro, 'may_moc')");
    await preview.getByTestId('preview-lang-en').click();
    await expect(preview).toHaveAttribute('data-lang', 'en');
    await expect(preview).toContainText('Respondent');
    await expect(preview).toContainText('Machinery wanted');
    await preview.getByTestId('field-dien_thoai').fill('12345');
    await expect(preview.locator('[data-key="dien_thoai"] .field-error')).toHaveText(
      'A phone number is 10 digits starting with 0',
    );
    // Everything above ran after the bad file's answer came in.
    await expect(section.getByTestId('xlsform-error')).toHaveCount(0);
    await expect(preview).toContainText('khuyen-cong · v2');
    await expectAccessible(office, 'XLSForm preview');
  });

  await test.step('published, it is version 2 and downloads as an XLSForm of itself', async () => {
    await section.getByTestId('xlsform-publish').click();
    await expect(section.getByTestId('xlsform-published')).toContainText('khuyen-cong');
    const row = office.locator('[data-testid="form-version"][data-version="2"]');
    await expect(row).toBeVisible();
    const [download] = await Promise.all([
      office.waitForEvent('download'),
      row.getByTestId('form-xlsform').click(),
    ]);
    expect(download.suggestedFilename()).toBe('khuyen-cong-v2.xlsx');
    const book = XLSX.read(await readFile((await download.path())!));
    expect(book.SheetNames).toEqual(['survey', 'choices', 'settings']);
    const survey = XLSX.utils.sheet_to_json<Record<string, string>>(book.Sheets.survey);
    const wanted = survey.find((r) => r.name === 'may_moc_khac');
    expect(wanted?.relevant).toBe("selected(${ho_tro}, 'may_moc')");
    expect(survey.find((r) => r.name === 'dien_thoai')?.constraint).toBe("regex(., '^0[0-9]{9}$')");
  });

  // A survey year names the form version its visits start on: the new version
  // is for a new year, with a proposal registered in it.
  const title = `Hỗ trợ máy ép viên ${Date.now().toString(36)}`;
  await test.step('the administrator opens 2027 on the new version; the office registers a proposal in it', async () => {
    await login.open('/admin');
    await login.waitHydrated();
    await office.getByTestId('year-number').fill('2027');
    await office.getByTestId('year-tree').selectOption('bac-ninh-2025');
    await office.getByTestId('year-form').selectOption('khuyen-cong@2');
    await office.getByTestId('year-open').click();
    await expect(office.locator('[data-testid="year-row"][data-year="2027"]')).toHaveAttribute('data-open', 'true');

    const desk = await (await newContext({ ...DESKTOP, baseURL: server!.baseURL, label: 'office' })).newPage();
    const deskLogin = new LoginPage(desk);
    await deskLogin.goto();
    await deskLogin.loginAs('giamsat');
    await deskLogin.open('/registry');
    await deskLogin.waitHydrated();
    await desk.getByTestId('facility-search').fill('Thọ Xương');
    await desk.getByTestId('facility-search-submit').click();
    const row = desk
      .locator('[data-testid="facility-list"][data-query="Thọ Xương"]')
      .getByTestId('facility-row')
      .filter({ hasText: 'Hợp tác xã Chế biến nông sản Xương Giang' });
    await row.getByTestId('facility-open').click();
    await expect(desk.getByTestId('new-proposal-form')).toBeVisible();
    await desk.getByTestId('np-year').selectOption('2027');
    await desk.getByTestId('np-title').fill(title);
    await desk.getByTestId('np-kind').selectOption('machinery');
    await desk.getByTestId('np-amount').fill('200.000.000');
    await desk.getByTestId('np-create').click();
    await expect(desk.getByTestId('facility-proposal').filter({ hasText: title })).toHaveAttribute('data-year', '2027');
  });

  await test.step('a phone fills a visit against it, and the server takes it', async () => {
    const phone = await (await newContext({ ...PHONE, baseURL: server!.baseURL, label: 'phone' })).newPage();
    const phoneLogin = new LoginPage(phone);
    const home = new HomePage(phone);
    const visit = new VisitPage(phone);
    await phoneLogin.goto();
    await phoneLogin.loginAs('ksv1');
    await home.expectShown();
    const item = home.proposalItems.filter({ hasText: title });
    await expect(item).toHaveCount(1);
    await home.startVisit(item);
    await expect(visit.field('nguoi_tra_loi')).toBeVisible();
    await visit.fillField('nguoi_tra_loi', 'Nguyễn Thị Hoa');
    await visit.fillField('dien_thoai', '912');
    await expect(visit.fieldBox('dien_thoai').locator('.field-error')).toHaveText(
      'Số điện thoại gồm 10 chữ số, bắt đầu bằng 0',
    );
    // Read with the input by a screen reader, not only shown beside it.
    await expect(visit.field('dien_thoai')).toHaveAttribute('aria-invalid', 'true');
    await expect(visit.field('dien_thoai')).toHaveAccessibleDescription(/Số điện thoại gồm 10 chữ số, bắt đầu bằng 0/);
    await visit.fillField('dien_thoai', '0912345678');
    await expect(visit.fieldBox('dien_thoai').locator('.field-error')).toHaveCount(0);
    await expect(visit.field('dien_thoai')).not.toHaveAttribute('aria-invalid', 'true');
    await visit.fillField('so_lao_dong', '12');
    await expect(visit.fieldBox('may_moc_khac')).toBeHidden();
    await visit.field('ho_tro-may_moc').check();
    await expect(visit.fieldBox('may_moc_khac')).toBeVisible();
    await visit.fillField('may_moc_khac', 'Máy ép viên');
    await visit.addRow('may');
    await visit.rowField('may', 0, 'ten_may').fill('Máy nghiền');
    await visit.repeatRows('may').nth(0).getByTestId('field-tinh_trang').selectOption('hong');
    await expect(visit.repeatRows('may').nth(0).getByTestId('field-ly_do_hong')).toBeVisible();
    await visit.select('de_xuat', 'yes');
    await expect(visit.fieldBox('ghi_chu')).toBeHidden();
    await visit.waitDraftSaved();
    await visit.click(visit.finalizeButton);
    await expect(visit.incomplete).toHaveCount(0);
    await visit.expectSyncState('synced', 15_000);
    await visit.expectReviewState('submitted', 15_000);
  });
});
