//! Image format sniffing, declared pixel dimensions and the few EXIF fields we use,
//! all read from the first bytes of a photo without decoding it.
//!
//! This runs in the browser (WASM bundle with a size budget) before upload and on the
//! server, so it is std-only and small: no tables, no formatting machinery. Photos come
//! from any phone or file picker, so every read is bounds-checked and all work is
//! bounded by the input length: a damaged file gives `None` or `Err`, never a panic or
//! a hang. Callers may pass only a prefix of the file (e.g. the first 256 KiB).
//!
//! One file (about 775 lines of code; tests in `exif_tests.rs`): one
//! bounds-checked reader for the JPEG, PNG, WebP, GIF, BMP, TIFF and HEIF/AVIF
//! headers and the TIFF/EXIF block several of them share. The formats use the same cursor and limits, and
//! splitting them would spread those checks over several files.

use std::fmt;

/// Image container formats recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
    Bmp,
    Tiff,
    Heif,
    Avif,
    Unknown,
}

impl Format {
    /// The MIME type to store and serve the photo with; `None` when we do not know it.
    pub fn mime(self) -> Option<&'static str> {
        Some(match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Bmp => "image/bmp",
            Format::Tiff => "image/tiff",
            Format::Heif => "image/heif",
            Format::Avif => "image/avif",
            Format::Unknown => return None,
        })
    }

    /// File name extension for downloads and exports.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Tiff => "tif",
            Format::Heif => "heic",
            Format::Avif => "avif",
            Format::Unknown => "bin",
        }
    }
}

/// Sniffs the format from the first bytes (needs at most 32 bytes). HEIF/AVIF: ISO-BMFF
/// `ftyp` box at offset 4 with brands heic/heix/mif1/msf1/hevc (Heif) or avif/avis (Avif).
pub fn sniff(bytes: &[u8]) -> Format {
    let at = |from: usize, to: usize| bytes.get(from..to).unwrap_or(&[]);
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if bytes.starts_with(b"RIFF") && at(8, 12) == b"WEBP" {
        Format::Webp
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Format::Gif
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Format::Tiff
    } else if bytes.starts_with(b"BM")
        // "BM" alone is too weak (plain text can start with it): also require a known
        // DIB header size.
        && matches!(le32(bytes, 14), Some(12 | 40 | 52 | 56 | 64 | 108 | 124))
    {
        Format::Bmp
    } else if at(4, 8) == b"ftyp" {
        match at(8, 12) {
            b"avif" | b"avis" => Format::Avif,
            b"heic" | b"heix" | b"hevc" => Format::Heif,
            b"mif1" | b"msf1" => {
                // Generic image brands: AVIF encoders often write mif1 as the major brand
                // and name avif only among the compatible brands, which follow the major
                // brand and the minor version.
                let end = be32(bytes, 0).map_or(0, |n| n as usize).min(32);
                let compatible = bytes.get(16..end.min(bytes.len())).unwrap_or(&[]);
                if compatible
                    .chunks_exact(4)
                    .any(|b| b == b"avif" || b == b"avis")
                {
                    Format::Avif
                } else {
                    Format::Heif
                }
            }
            _ => Format::Unknown,
        }
    } else {
        Format::Unknown
    }
}

/// Pixel size as the file header declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u32,
    pub height: u32,
}

/// Declared pixel dimensions read from the header only (no decoding) of a JPEG, PNG or
/// WebP. `None` when the header is not complete in `bytes`, is malformed, or declares a
/// zero side (JPEG's "height defined later by DNL" is useless to us too).
pub fn dimensions(bytes: &[u8]) -> Option<Dimensions> {
    let (width, height) = match sniff(bytes) {
        Format::Jpeg => {
            // SOFn markers are C0..CF except DHT (C4), JPG (C8) and DAC (CC).
            let sof = jpeg_segment(bytes, |marker, _| {
                matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
            })?;
            // SOF body: sample precision, height, width, component count.
            (u32::from(be16(sof, 3)?), u32::from(be16(sof, 1)?))
        }
        Format::Png => {
            // The first chunk must be IHDR (length 13): width then height, big-endian.
            if be32(bytes, 8)? != 13 || bytes.get(12..16)? != b"IHDR" {
                return None;
            }
            (be32(bytes, 16)?, be32(bytes, 20)?)
        }
        Format::Webp => webp_size(bytes)?,
        _ => return None,
    };
    (width > 0 && height > 0).then_some(Dimensions { width, height })
}

/// Canvas size from the first chunk of a WebP (RIFF header is 12 bytes, chunk header 8).
fn webp_size(bytes: &[u8]) -> Option<(u32, u32)> {
    match bytes.get(12..16)? {
        // Lossy: 3-byte frame tag (bit 0 clear on key frames), start code, then 14-bit
        // width and height (the top two bits are scaling).
        b"VP8 " => {
            let key_frame = bytes.get(20)? & 1 == 0;
            if !key_frame || bytes.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let size = |at| le16(bytes, at).map(|v| u32::from(v & 0x3FFF));
            Some((size(26)?, size(28)?))
        }
        // Lossless: signature 0x2F, then 14 bits width-1, 14 bits height-1, alpha bit and
        // a 3-bit version that must be 0.
        b"VP8L" => {
            let bits = le32(bytes, 21)?;
            if *bytes.get(20)? != 0x2F || bits >> 29 != 0 {
                return None;
            }
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: flags, 3 reserved bytes, then 24-bit canvas width-1 and height-1.
        b"VP8X" => Some((le24(bytes, 24)? + 1, le24(bytes, 27)? + 1)),
        _ => None,
    }
}

/// What a photo's EXIF says, as far as we use it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifInfo {
    /// 1..=8 when present and valid.
    pub orientation: Option<u8>,
    /// DateTimeOriginal (tag 0x9003 in the Exif IFD), falling back to DateTime (0x0132
    /// in IFD0), as written: local time, no zone.
    pub taken_local: Option<LocalDateTime>,
    /// OffsetTimeOriginal (0x9011) such as "+07:00", in minutes east of UTC, when
    /// present and valid.
    pub offset_minutes: Option<i32>,
    /// GPS position in decimal degrees (south and west negative), only when latitude
    /// and longitude (with their refs) are both present and within range.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The Exif or GPS directory was damaged and skipped: what the first
    /// directory gave (the orientation above all) is kept, and the damage
    /// is said as a warning rather than losing the whole block.
    pub damaged: Option<&'static str>,
}

/// A wall-clock time as cameras write it: no zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDateTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl LocalDateTime {
    /// Milliseconds since the Unix epoch of this local time at the given UTC offset
    /// (minutes east). Pure arithmetic (days-from-civil), no chrono. Saturates instead
    /// of overflowing for absurd years; out-of-range fields give a wrong value, not a
    /// panic.
    pub fn to_epoch_ms(self, offset_minutes: i32) -> i64 {
        // Howard Hinnant's days_from_civil: shift the year to start in March so the
        // leap day is the last day of the (shifted) year.
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let (era, year_of_era) = (year.div_euclid(400), year.rem_euclid(400));
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        let days = era * 146_097 + day_of_era - 719_468;
        let seconds =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        days.saturating_mul(86_400_000)
            .saturating_add((seconds - i64::from(offset_minutes) * 60) * 1000)
    }
}

/// Why an Exif block could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExifError {
    /// The APP1 Exif segment exists but its TIFF structure is broken: bad byte-order
    /// mark, bad magic 42, IFD offset outside the data, an IFD entry count that runs past
    /// the end, an IFD loop. The string says which, in plain English.
    Broken(&'static str),
}

impl fmt::Display for ExifError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ExifError::Broken(why) = self;
        f.write_str("broken Exif data: ")?;
        f.write_str(why)
    }
}

impl std::error::Error for ExifError {}

const EXIF_HEADER: &[u8] = b"Exif\0\0";
const OUTSIDE: ExifError = ExifError::Broken("an IFD offset points outside the data");
const PAST_END: ExifError = ExifError::Broken("an IFD's entry count runs past the end of the data");
const LOOP: ExifError = ExifError::Broken("an IFD pointer leads back to an IFD already read");

/// Finds the first APP1 segment starting with "Exif\0\0" in a JPEG (walking markers
/// from SOI; stop at SOS) and parses it. Ok(None) when there is no Exif segment, the
/// input is not a JPEG, or the segment is cut off by the end of `bytes`.
pub fn jpeg_exif(bytes: &[u8]) -> Result<Option<ExifInfo>, ExifError> {
    match jpeg_segment(bytes, |marker, body| {
        marker == 0xE1 && body.starts_with(EXIF_HEADER)
    }) {
        Some(body) => parse_tiff(body.get(EXIF_HEADER.len()..).unwrap_or(&[])).map(Some),
        None => Ok(None),
    }
}

/// Walks a JPEG's marker segments from SOI and returns the body (after the length) of
/// the first one `wanted` accepts. `None` at SOS or EOI (nothing but image data
/// follows), on a malformed marker stream, or when a segment is cut off by the end of
/// `bytes`. Every step advances, so the walk ends within `bytes.len()` steps.
fn jpeg_segment(bytes: &[u8], mut wanted: impl FnMut(u8, &[u8]) -> bool) -> Option<&[u8]> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut pos = 2usize;
    loop {
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while *bytes.get(pos)? == 0xFF {
            pos += 1;
        }
        let marker = *bytes.get(pos)?;
        pos += 1;
        match marker {
            // TEM and RSTn stand alone, without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // 00 is a stuffed byte, not a marker; SOI cannot repeat; SOS, EOI: see above.
            0x00 | 0xD8..=0xDA => return None,
            _ => {}
        }
        let len = usize::from(be16(bytes, pos)?);
        // The length counts its own two bytes; less is corrupt (and 0 would not advance).
        if len < 2 {
            return None;
        }
        let end = pos.checked_add(len)?;
        let body = bytes.get(pos.checked_add(2)?..end)?;
        if wanted(marker, body) {
            return Some(body);
        }
        pos = end;
    }
}

/// Parses a TIFF-structured EXIF block (starting at the "II*\0"/"MM\0*" header).
/// Follows IFD0 -> Exif IFD (0x8769) and GPS IFD (0x8825). Unknown tags and tags of an
/// unexpected type or count are ignored; structural damage is an error. Only those
/// three IFDs are read and each is checked against the input length before its entries
/// are, so the work is bounded by the input.
pub fn parse_tiff(tiff: &[u8]) -> Result<ExifInfo, ExifError> {
    let le = match tiff.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return Err(ExifError::Broken("bad byte-order mark (neither II nor MM)")),
    };
    let t = Tiff { data: tiff, le };
    if t.u16(2) != Some(42) {
        return Err(ExifError::Broken("bad TIFF magic number (not 42)"));
    }
    let ifd0 = t.u32(4).ok_or(OUTSIDE)?;
    let mut info = ExifInfo::default();
    let (mut exif_ifd, mut gps_ifd, mut date_time) = (0, 0, None);
    for e in t.ifd(ifd0)? {
        match e.tag {
            0x0112 => {
                info.orientation = t
                    .value(&e, SHORT, 1)
                    .and_then(|v| v.u16(0))
                    .and_then(|o| u8::try_from(o).ok())
                    .filter(|o| (1..=8).contains(o));
            }
            0x0132 => date_time = t.ascii(&e).and_then(parse_date_time),
            0x8769 => exif_ifd = t.pointer(&e),
            0x8825 => gps_ifd = t.pointer(&e),
            _ => {}
        }
    }
    // A pointer of 0 means "none" (some tools blank it rather than delete the tag).
    // A damaged sub-directory loses only what it holds: a phone's portrait
    // photo with a broken GPS pointer was stored sideways when the whole
    // block was dropped.
    let mut damaged = |e: ExifError| {
        let ExifError::Broken(why) = e;
        info.damaged.get_or_insert(why);
    };
    let mut exif_entries = Vec::new();
    if exif_ifd != 0 {
        match if exif_ifd == ifd0 {
            Err(LOOP)
        } else {
            t.ifd(exif_ifd).map(|e| e.collect::<Vec<_>>())
        } {
            Ok(entries) => exif_entries = entries,
            Err(e) => damaged(e),
        }
    }
    let mut gps_entries = Vec::new();
    if gps_ifd != 0 {
        match if gps_ifd == ifd0 || gps_ifd == exif_ifd {
            Err(LOOP)
        } else {
            t.ifd(gps_ifd).map(|e| e.collect::<Vec<_>>())
        } {
            Ok(entries) => gps_entries = entries,
            Err(e) => damaged(e),
        }
    }
    for e in exif_entries {
        match e.tag {
            0x9003 => info.taken_local = t.ascii(&e).and_then(parse_date_time),
            0x9011 => info.offset_minutes = t.ascii(&e).and_then(parse_offset),
            _ => {}
        }
    }
    info.taken_local = info.taken_local.or(date_time);
    if !gps_entries.is_empty() {
        let (mut lat, mut lon) = ((None, None), (None, None));
        for e in gps_entries {
            match e.tag {
                0x0001 => lat.0 = t.ascii(&e).and_then(|r| r.first().copied()),
                0x0002 => lat.1 = t.degrees(&e),
                0x0003 => lon.0 = t.ascii(&e).and_then(|r| r.first().copied()),
                0x0004 => lon.1 = t.degrees(&e),
                _ => {}
            }
        }
        let lat = signed(lat, b'N', b'S').filter(|v| v.abs() <= 90.0);
        let lon = signed(lon, b'E', b'W').filter(|v| v.abs() <= 180.0);
        if let (Some(lat), Some(lon)) = (lat, lon) {
            (info.lat, info.lon) = (Some(lat), Some(lon));
        }
    }
    Ok(info)
}

/// A coordinate with its hemisphere reference applied; `None` if either is missing or
/// the reference is not one of the two letters.
fn signed((reference, value): (Option<u8>, Option<f64>), plus: u8, minus: u8) -> Option<f64> {
    let value = value?;
    match reference? {
        r if r == plus => Some(value),
        r if r == minus => Some(-value),
        _ => None,
    }
}

const SHORT: u16 = 3;
const ASCII: u16 = 2;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
const IFD: u16 = 13;

/// Bytes per item of the types we read.
fn type_size(typ: u16) -> Option<usize> {
    match typ {
        ASCII => Some(1),
        SHORT => Some(2),
        LONG | IFD => Some(4),
        RATIONAL => Some(8),
        _ => None,
    }
}

/// One 12-byte IFD entry; `at` is its offset in the TIFF block.
struct Entry {
    tag: u16,
    typ: u16,
    count: u32,
    at: usize,
}

/// A TIFF block (or a value inside it) with its byte order.
struct Tiff<'a> {
    data: &'a [u8],
    le: bool,
}

impl<'a> Tiff<'a> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = take(self.data, at)?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = take(self.data, at)?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// The entries of the IFD at `offset`, after checking that all of them are inside
    /// the data (a damaged count is an error, not something to read around).
    fn ifd(&self, offset: u32) -> Result<impl Iterator<Item = Entry> + '_, ExifError> {
        let start = offset as usize;
        // An IFD cannot start inside the 8-byte header.
        if start < 8 {
            return Err(OUTSIDE);
        }
        let count = usize::from(self.u16(start).ok_or(OUTSIDE)?);
        let first = start + 2;
        if !matches!(first.checked_add(count * 12), Some(end) if end <= self.data.len()) {
            return Err(PAST_END);
        }
        Ok((0..count).filter_map(move |i| {
            let at = first + i * 12;
            Some(Entry {
                tag: self.u16(at)?,
                typ: self.u16(at + 2)?,
                count: self.u32(at + 4)?,
                at,
            })
        }))
    }

    /// The value of an entry of type `typ` with at least `min_count` items: inline when
    /// it fits in 4 bytes, else at the offset stored there. `None` for another type or
    /// a value outside the data (one bad tag must not spoil the others).
    fn value(&self, e: &Entry, typ: u16, min_count: u32) -> Option<Tiff<'a>> {
        if e.typ != typ || e.count < min_count {
            return None;
        }
        let len = usize::checked_mul(type_size(typ)?, e.count as usize)?;
        let start = if len <= 4 {
            e.at + 8
        } else {
            self.u32(e.at + 8)? as usize
        };
        let data = self.data.get(start..start.checked_add(len)?)?;
        Some(Tiff { data, le: self.le })
    }

    /// An ASCII value up to its terminating NUL.
    fn ascii(&self, e: &Entry) -> Option<&'a [u8]> {
        let text = self.value(e, ASCII, 1)?.data;
        Some(text.split(|&b| b == 0).next().unwrap_or(text))
    }

    /// A sub-IFD offset: LONG (or the later IFD type); 0 when unusable.
    fn pointer(&self, e: &Entry) -> u32 {
        let value = self.value(e, LONG, 1).or_else(|| self.value(e, IFD, 1));
        value.and_then(|v| v.u32(0)).unwrap_or(0)
    }

    /// GPS degrees, minutes, seconds (three RATIONALs) as decimal degrees.
    fn degrees(&self, e: &Entry) -> Option<f64> {
        let v = self.value(e, RATIONAL, 3)?;
        let mut degrees = 0.0;
        for (i, unit) in [1.0, 60.0, 3600.0].into_iter().enumerate() {
            let (num, den) = (v.u32(i * 8)?, v.u32(i * 8 + 4)?);
            if den == 0 {
                return None;
            }
            degrees += f64::from(num) / f64::from(den) / unit;
        }
        Some(degrees)
    }
}

/// "YYYY:MM:DD HH:MM:SS" with a real calendar date; blank or zeroed dates (how cameras
/// say "unknown") give `None`.
fn parse_date_time(text: &[u8]) -> Option<LocalDateTime> {
    let [y0, y1, y2, y3, b':', m0, m1, b':', d0, d1, b' ', h0, h1, b':', i0, i1, b':', s0, s1] =
        <[u8; 19]>::try_from(text.get(..19)?).ok()?
    else {
        return None;
    };
    let year = number(&[y0, y1, y2, y3])?;
    let [month, day, hour, minute, second] =
        [[m0, m1], [d0, d1], [h0, h1], [i0, i1], [s0, s1]].map(|d| number(&d).unwrap_or(99) as u8);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 => 28 + u8::from(leap),
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let valid = (1..=12).contains(&month)
        && (1..=month_days).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then_some(LocalDateTime {
        year: year as i32,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// "+HH:MM" / "-HH:MM" in minutes east of UTC; real offsets lie within ±14:00.
fn parse_offset(text: &[u8]) -> Option<i32> {
    let [sign, h0, h1, b':', m0, m1] = <[u8; 6]>::try_from(text.get(..6)?).ok()? else {
        return None;
    };
    let (hours, minutes) = (number(&[h0, h1])?, number(&[m0, m1])?);
    let total = (hours * 60 + minutes) as i32;
    if minutes >= 60 || total > 14 * 60 {
        return None;
    }
    match sign {
        b'+' => Some(total),
        b'-' => Some(-total),
        _ => None,
    }
}

/// A short run of ASCII digits (at most 4 here, so no overflow).
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

fn take<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    take(bytes, at).map(u16::from_be_bytes)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    take(bytes, at).map(u32::from_be_bytes)
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    take(bytes, at).map(u16::from_le_bytes)
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    take(bytes, at).map(|[a, b, c]| u32::from_le_bytes([a, b, c, 0]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    take(bytes, at).map(u32::from_le_bytes)
}

/// Test-fixture builder (used by server tests and benchmarks): a little-endian TIFF
/// block with IFD0 {Orientation if Some, ExifIFD pointer, GPS IFD pointer if any GPS},
/// ExifIFD {DateTimeOriginal "YYYY:MM:DD HH:MM:SS" if Some, OffsetTimeOriginal if
/// offset Some}, GPS IFD {GPSLatitudeRef, GPSLatitude (3 rationals d/m/s),
/// GPSLongitudeRef, GPSLongitude} for whichever of lat/lon is Some (so a fixture can
/// also lack one). Values are written as given, invalid ones included, so tests can
/// check the parser rejects them; years are clamped to 0..=9999 to keep 4 digits.
/// `tests/e2e/support/exif.ts` writes the same bytes.
pub fn build_tiff(info: &ExifInfo) -> Vec<u8> {
    let mut ifd0 = Vec::new();
    if let Some(o) = info.orientation {
        ifd0.push(field(0x0112, SHORT, u16::from(o).to_le_bytes().to_vec()));
    }
    let mut exif = Vec::new();
    if let Some(t) = info.taken_local {
        let mut text = Vec::new();
        let year = t.year.clamp(0, 9999) as u32;
        for (n, width, sep) in [
            (year, 4, b':'),
            (u32::from(t.month), 2, b':'),
            (u32::from(t.day), 2, b' '),
            (u32::from(t.hour), 2, b':'),
            (u32::from(t.minute), 2, b':'),
            (u32::from(t.second), 2, 0),
        ] {
            push_digits(&mut text, n, width);
            text.push(sep);
        }
        // The last separator pushed is the terminating NUL.
        exif.push(field(0x9003, ASCII, text));
    }
    if let Some(m) = info.offset_minutes {
        let mut text = vec![if m < 0 { b'-' } else { b'+' }];
        let m = m.unsigned_abs();
        push_digits(&mut text, (m / 60).min(99), 2);
        text.push(b':');
        push_digits(&mut text, m % 60, 2);
        text.push(0);
        exif.push(field(0x9011, ASCII, text));
    }
    let mut gps = Vec::new();
    for (tag, value, refs) in [(1, info.lat, b"NS"), (3, info.lon, b"EW")] {
        if let Some(v) = value {
            let reference = if v < 0.0 { refs[1] } else { refs[0] };
            gps.push(field(tag, ASCII, vec![reference, 0]));
            gps.push(field(tag + 1, RATIONAL, dms(v)));
        }
    }
    tiff_from_ifds(ifd0, exif, (!gps.is_empty()).then_some(gps))
}

/// |degrees| as three little-endian RATIONALs: whole degrees, whole minutes, seconds in
/// 1/10000 (about 3 mm), carrying a rounded-up 60 s into the minutes.
fn dms(degrees: f64) -> Vec<u8> {
    let a = degrees.abs();
    let mut d = a.floor();
    let minutes = (a - d) * 60.0;
    let mut m = minutes.floor();
    let mut s = ((minutes - m) * 60.0 * 10000.0).round();
    if s >= 600_000.0 {
        s -= 600_000.0;
        m += 1.0;
    }
    if m >= 60.0 {
        m -= 60.0;
        d += 1.0;
    }
    // Float to int casts saturate (NaN gives 0): a nonsense fixture, not a panic.
    [(d, 1u32), (m, 1), (s, 10_000)]
        .iter()
        .flat_map(|&(num, den)| [(num as u32).to_le_bytes(), den.to_le_bytes()])
        .flatten()
        .collect()
}

fn push_digits(out: &mut Vec<u8>, n: u32, width: u32) {
    for place in (0..width).rev() {
        out.push(b'0' + (n / 10u32.pow(place) % 10) as u8);
    }
}

/// One IFD entry for the fixture writer; `value` is already little-endian.
struct Field {
    tag: u16,
    typ: u16,
    count: u32,
    value: Vec<u8>,
}

/// A field whose count is however many items of `typ` fit in `value`.
fn field(tag: u16, typ: u16, value: Vec<u8>) -> Field {
    let count = (value.len() / type_size(typ).unwrap_or(1)) as u32;
    Field {
        tag,
        typ,
        count,
        value,
    }
}

/// "II*\0", IFD0 at 8, then the Exif IFD and the optional GPS IFD, each followed by its
/// out-of-line values. `ifd0` fields must have ascending tags below 0x8769, because the
/// pointers are appended after them (TIFF wants entries sorted by tag).
fn tiff_from_ifds(mut ifd0: Vec<Field>, exif: Vec<Field>, gps: Option<Vec<Field>>) -> Vec<u8> {
    // Pointers are inline LONGs, so their values do not change IFD0's size.
    let pointers = 1 + usize::from(gps.is_some());
    let exif_at = 8 + ifd_len(&ifd0) + 12 * pointers;
    let gps_at = exif_at + ifd_len(&exif);
    for (tag, at) in [(0x8769, exif_at), (0x8825, gps_at)]
        .into_iter()
        .take(pointers)
    {
        ifd0.push(field(tag, LONG, (at as u32).to_le_bytes().to_vec()));
    }
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    for ifd in [Some(ifd0), Some(exif), gps].into_iter().flatten() {
        write_ifd(&mut out, &ifd);
    }
    out
}

/// Bytes an IFD takes: count, entries, next-IFD offset, values over 4 bytes padded to
/// even offsets (TIFF wants word-aligned values).
fn ifd_len(fields: &[Field]) -> usize {
    6 + 12 * fields.len() + fields.iter().map(out_of_line_len).sum::<usize>()
}

fn out_of_line_len(f: &Field) -> usize {
    if f.value.len() > 4 {
        (f.value.len() + 1) & !1
    } else {
        0
    }
}

fn write_ifd(out: &mut Vec<u8>, fields: &[Field]) {
    let mut value_at = out.len() + 6 + 12 * fields.len();
    let mut values = Vec::new();
    out.extend((fields.len() as u16).to_le_bytes());
    for f in fields {
        out.extend(f.tag.to_le_bytes());
        out.extend(f.typ.to_le_bytes());
        out.extend(f.count.to_le_bytes());
        let mut slot = [0u8; 4];
        if f.value.len() <= 4 {
            slot.iter_mut().zip(&f.value).for_each(|(s, v)| *s = *v);
        } else {
            slot = (value_at as u32).to_le_bytes();
            values.extend(&f.value);
            values.resize(values.len() + out_of_line_len(f) - f.value.len(), 0);
            value_at += out_of_line_len(f);
        }
        out.extend(slot);
    }
    out.extend([0; 4]); // no next IFD
    out.extend(values);
}

/// Inserts an APP1 "Exif\0\0" + tiff segment right after the SOI of a JPEG. `None` if
/// `jpeg` does not start with FF D8, or if the segment would exceed the 64 KiB a JPEG
/// segment length can describe.
pub fn insert_app1(jpeg: &[u8], tiff: &[u8]) -> Option<Vec<u8>> {
    let rest = jpeg.strip_prefix(&[0xFF, 0xD8])?;
    // The length counts its own two bytes and the Exif header.
    let len = u16::try_from(tiff.len().checked_add(2 + EXIF_HEADER.len())?).ok()?;
    let mut out = Vec::with_capacity(jpeg.len() + 2 + usize::from(len));
    out.extend([0xFF, 0xD8, 0xFF, 0xE1]);
    out.extend(len.to_be_bytes());
    out.extend(EXIF_HEADER);
    out.extend(tiff);
    out.extend(rest);
    Some(out)
}

#[cfg(test)]
#[path = "exif_tests.rs"]
mod tests;
