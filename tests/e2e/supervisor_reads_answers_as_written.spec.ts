// The supervisor's visit page renders answers for people (issue 17): a
// decimal typed "350,5" on the phone reads "350,5" (it read "350.5"), and a GPS
// position reads as coordinates with their accuracy and a link to a map (it
// read as raw JSON `{"accuracy":20.0,"lat":…}`).

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { ReviewPage } from './pages/ReviewPage';
import { VisitPage } from './pages/VisitPage';

test.use({ ...PHONE, geolocation: { latitude: 21.29512, longitude: 106.20345, accuracy: 20 }, permissions: ['geolocation'] });

test('a decimal and a GPS position read on the supervisor\'s page as a person writes them', async ({ page, newContext }) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await login.goto();
  await login.loginAs('ksv3');
  await home.expectSynced();
  const visitId = await home.startVisit(home.proposalItems.first());
  await visit.fillField('workshop_area', '350,5');
  await visit.click(page.getByTestId('field-location-gps'));
  await expect(visit.field('location')).toContainText('±20 m');
  await visit.save();
  await visit.expectSyncState('synced', 30_000);

  const office = await newContext({ ...DESKTOP, label: 'desktop' });
  const desk = await office.newPage();
  const review = new ReviewPage(desk);
  await new LoginPage(desk).goto();
  await new LoginPage(desk).loginAs(SUPERVISOR);
  await review.open(`/review/visits/${visitId}`);
  await expect(review.answer('workshop_area')).toHaveText('350,5');
  const location = review.answer('location');
  await expect(location).toContainText('21.295120, 106.203450');
  await expect(location).toContainText('sai số ± 20 m');
  await expect(location).not.toContainText('{');
  const map = location.getByTestId('answer-map-link');
  await expect(map).toHaveAttribute('href', /openstreetmap\.org\/\?mlat=21\.295120&mlon=106\.203450/);
  await expect(map).toHaveAttribute('target', '_blank');

  // Offline on an office page, the supervisor (who syncs a phone too) is told
  // the page needs the network, not that the work is kept on the machine.
  await office.setOffline(true);
  const line = desk.getByTestId('status-line');
  await expect(line).toHaveAttribute('title', /cần mạng để xem và lưu/);
  await expect(line).not.toHaveAttribute('title', /lưu trên máy/);
  await office.setOffline(false);
});
