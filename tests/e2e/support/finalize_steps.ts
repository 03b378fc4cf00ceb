// The answers the demo form needs before a visit can be finalized.

import type { VisitPage } from '../pages/VisitPage';

/** Fills every required answer of the demo form on the visit open in `visit`. */
export async function fillRequired(visit: VisitPage, workforce = '8'): Promise<void> {
  for (const key of ['name_confirmed', 'owner_confirmed', 'address_confirmed']) await visit.select(key, 'yes');
  await visit.fillField('visit_date', '15/06/2020');
  await visit.fillField('main_products', 'Gạch không nung');
  await visit.select('industry_group', 'mechanical');
  await visit.fillField('workforce', workforce);
  await visit.select('support_kind', 'machinery');
  await visit.fillField('requested_amount', '150.000.000');
  await visit.fillField('reason', 'Thay máy ép cũ');
  await visit.select('spillover_effect', 'high');
  await visit.select('feasibility', 'medium');
  await visit.select('scale', 'small');
  await visit.select('team_suggestion', 'provincial');
  await visit.fillField('suggested_amount', '120000000');
  await visit.fillField('team_members', 'Nguyễn Văn An');
}
