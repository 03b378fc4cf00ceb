// Facts about the demo data set (data/demo/bac-giang-2020.json) that the specs rely on.

/** Every demo user's password. */
export const DEMO_PASSWORD = 'khaosat-demo';

/** 2020 proposals per district code; Lục Nam (218) has none. */
export const PROPOSALS_BY_DISTRICT: Readonly<Record<string, number>> = {
  '213': 11,
  '215': 2,
  '216': 4,
  '217': 2,
  '218': 0,
  '219': 3,
  '220': 1,
  '221': 6,
  '222': 3,
  '223': 5,
};

/**
 * 2026 proposals (on the 2025 tree, data/demo/bac-ninh-2026.json) each inspector
 * sees through the 2020 → 2025 mapping: phường Bắc Giang (07210) is formed from
 * wards of 213, xã Yên Thế (07288) from 215, phường Nếnh (07795) from 222 and
 * xã Hiệp Hòa (07840) from 223.
 */
export const PROPOSALS_2026_BY_DISTRICT: Readonly<Record<string, number>> = {
  '213': 2,
  '215': 1,
  '222': 1,
  '223': 1,
};

/** The inspectors and the district codes they are scoped to. */
export const INSPECTORS: Readonly<Record<string, readonly string[]>> = {
  ksv1: ['213', '218'],
  ksv2: ['223', '222'],
  ksv3: ['215', '216'],
  ksv4: ['221', '217'],
  ksv5: ['219', '220'],
};

export const SUPERVISOR = 'giamsat';

/** The demo's administrator: accounts, forms, units and the register; no review. */
export const ADMINISTRATOR = 'quantri';

/** How many proposals an inspector's home must list. */
export function proposalsInScope(username: string): number {
  const units = INSPECTORS[username];
  if (!units) throw new Error(`${username} is not a demo inspector`);
  return units.reduce(
    (sum, code) => sum + (PROPOSALS_BY_DISTRICT[code] ?? 0) + (PROPOSALS_2026_BY_DISTRICT[code] ?? 0),
    0,
  );
}

/** A lowercase UUID (any version) as the app puts it in URLs. */
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** True for a UUIDv7 (version nibble 7, RFC 4122 variant), which every id made on a phone must be. */
export function isUuidV7(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id);
}

/** Letters only Vietnamese uses among the locales we ship (NFC). */
export const VIETNAMESE_LETTER =
  /[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]/iu;
