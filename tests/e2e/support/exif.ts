// EXIF fixtures for end-to-end tests: a JPEG that says when and where it was taken.
//
// The bytes are the same as the Rust `build_tiff` / `insert_app1` in
// app/src/photos/exif.rs write for the same values, so a spec and a server test
// exercise one layout: a little-endian TIFF block with IFD0 {Orientation, Exif IFD
// pointer, GPS IFD pointer}, the Exif IFD {DateTimeOriginal, OffsetTimeOriginal}, then
// the GPS IFD {refs and degrees/minutes/seconds}. Values are written as given, invalid
// ones included, so a spec can check that the app ignores them. If you change the
// layout, change both files.

export interface ExifFixture {
  /** EXIF Orientation; 1..=8 are valid. */
  orientation?: number;
  /** DateTimeOriginal as cameras write it, local time: "2026:03:05 14:30:00". */
  takenLocal?: string;
  /** OffsetTimeOriginal, e.g. "+07:00". */
  offset?: string;
  /** Decimal degrees, south negative. Written to the GPS IFD even without `lon`. */
  lat?: number;
  /** Decimal degrees, west negative. */
  lon?: number;
}

const ASCII = 2;
const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;
/** Bytes per item, to derive each field's count from its value. */
const TYPE_SIZE: Record<number, number> = { [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [RATIONAL]: 8 };
const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');

/** One IFD entry; `value` is already little-endian. */
interface Field {
  tag: number;
  type: number;
  value: Buffer;
}

/** A little-endian TIFF block, same layout as the Rust build_tiff. */
export function buildTiff(info: ExifFixture): Buffer {
  const ifd0: Field[] = [];
  if (info.orientation !== undefined) ifd0.push({ tag: 0x0112, type: SHORT, value: u16(info.orientation) });
  const exif: Field[] = [];
  if (info.takenLocal !== undefined) exif.push(ascii(0x9003, info.takenLocal));
  if (info.offset !== undefined) exif.push(ascii(0x9011, info.offset));
  const gps: Field[] = [];
  const coordinates: [number, number | undefined, string][] = [
    [1, info.lat, 'NS'],
    [3, info.lon, 'EW'],
  ];
  for (const [tag, degrees, refs] of coordinates) {
    if (degrees === undefined) continue;
    gps.push(ascii(tag, degrees < 0 ? refs[1] : refs[0]));
    gps.push({ tag: tag + 1, type: RATIONAL, value: dms(degrees) });
  }
  return tiffFromIfds(ifd0, exif, gps.length > 0 ? gps : undefined);
}

/** Inserts APP1 Exif after SOI; throws if not a JPEG. */
export function insertApp1(jpeg: Buffer, tiff: Buffer): Buffer {
  if (jpeg.length < 2 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) {
    throw new Error('insertApp1: not a JPEG (it must start with FF D8)');
  }
  // The segment length is 16 bits and counts itself and the Exif header.
  const length = 2 + EXIF_HEADER.length + tiff.length;
  if (length > 0xffff) throw new Error(`insertApp1: a ${tiff.length}-byte TIFF block does not fit one JPEG segment`);
  const marker = Buffer.from([0xff, 0xe1, length >> 8, length & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), marker, EXIF_HEADER, tiff, jpeg.subarray(2)]);
}

/** `jpeg` with an Exif segment saying what `info` says. */
export function withExif(jpeg: Buffer, info: ExifFixture): Buffer {
  return insertApp1(jpeg, buildTiff(info));
}

function ascii(tag: number, text: string): Field {
  return { tag, type: ASCII, value: Buffer.from(`${text}\0`, 'latin1') };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/**
 * |degrees| as three RATIONALs: whole degrees, whole minutes, seconds in 1/10000
 * (about 3 mm), carrying a rounded-up 60 s into the minutes. The float steps are the
 * Rust ones in the same order, so both write identical bytes.
 */
function dms(degrees: number): Buffer {
  if (!Number.isFinite(degrees)) throw new RangeError(`buildTiff: ${degrees} is not a coordinate`);
  const a = Math.abs(degrees);
  let d = Math.floor(a);
  const minutes = (a - d) * 60;
  let m = Math.floor(minutes);
  let s = Math.round((minutes - m) * 60 * 10000);
  if (s >= 600_000) {
    s -= 600_000;
    m += 1;
  }
  if (m >= 60) {
    m -= 60;
    d += 1;
  }
  return Buffer.concat([u32(d), u32(1), u32(m), u32(1), u32(s), u32(10_000)]);
}

/** Bytes an IFD takes: count, entries, next-IFD offset, values over 4 bytes padded to even. */
function ifdLength(fields: Field[]): number {
  return 6 + 12 * fields.length + fields.reduce((sum, f) => sum + outOfLineLength(f), 0);
}

function outOfLineLength(f: Field): number {
  return f.value.length > 4 ? (f.value.length + 1) & ~1 : 0;
}

/** "II*\0", IFD0 at 8, then the Exif IFD and the optional GPS IFD, each with its values. */
function tiffFromIfds(ifd0: Field[], exif: Field[], gps: Field[] | undefined): Buffer {
  // Pointers are inline LONGs, so their values do not change IFD0's size.
  const pointers = gps ? 2 : 1;
  const exifAt = 8 + ifdLength(ifd0) + 12 * pointers;
  const gpsAt = exifAt + ifdLength(exif);
  const withPointers = [...ifd0, { tag: 0x8769, type: LONG, value: u32(exifAt) }];
  if (gps) withPointers.push({ tag: 0x8825, type: LONG, value: u32(gpsAt) });
  const parts: Buffer[] = [Buffer.from('II*\0\x08\0\0\0', 'latin1')];
  let at = 8;
  for (const ifd of gps ? [withPointers, exif, gps] : [withPointers, exif]) {
    const bytes = writeIfd(ifd, at);
    parts.push(bytes);
    at += bytes.length;
  }
  return Buffer.concat(parts);
}

/** One IFD written at offset `at` of the TIFF block, its long values right after it. */
function writeIfd(fields: Field[], at: number): Buffer {
  const head = Buffer.alloc(6 + 12 * fields.length);
  const values: Buffer[] = [];
  let valueAt = at + head.length;
  head.writeUInt16LE(fields.length, 0);
  fields.forEach((f, i) => {
    const entry = 2 + 12 * i;
    head.writeUInt16LE(f.tag, entry);
    head.writeUInt16LE(f.type, entry + 2);
    head.writeUInt32LE(Math.floor(f.value.length / TYPE_SIZE[f.type]), entry + 4);
    if (f.value.length <= 4) {
      f.value.copy(head, entry + 8);
    } else {
      head.writeUInt32LE(valueAt, entry + 8);
      const padded = Buffer.alloc(outOfLineLength(f));
      f.value.copy(padded);
      values.push(padded);
      valueAt += padded.length;
    }
  });
  // The next-IFD offset stays 0: there is none.
  return Buffer.concat([head, ...values]);
}
