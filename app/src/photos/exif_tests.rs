//! Tests of `exif.rs`, kept beside it so the module reads as code.
//!
//! One file (about 600 lines): each test builds a small image header by hand;
//! the builders are shared by every format's tests.

use super::*;

/// SOI, APP0 (JFIF), DQT-less SOF0 with 3 components, SOS header, a few bytes of
/// "entropy-coded data", EOI: enough for header parsing.
fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend([0xFF, 0xE0, 0, 16]);
    j.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    j.extend([0xFF, 0xC0, 0, 17, 8]);
    j.extend(height.to_be_bytes());
    j.extend(width.to_be_bytes());
    j.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.extend([0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    j.extend([0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]);
    j
}

fn full_info(orientation: u8) -> ExifInfo {
    ExifInfo {
        orientation: Some(orientation),
        taken_local: Some(LocalDateTime {
            year: 2026,
            month: 3,
            day: 5,
            hour: 14,
            minute: 30,
            second: 7,
        }),
        offset_minutes: Some(-330),
        lat: Some(-33.865_143),
        lon: Some(-151.209_900),
        damaged: None,
    }
}

fn assert_same(got: &ExifInfo, want: &ExifInfo) {
    assert_eq!(got.orientation, want.orientation);
    assert_eq!(got.taken_local, want.taken_local);
    assert_eq!(got.offset_minutes, want.offset_minutes);
    for (g, w) in [(got.lat, want.lat), (got.lon, want.lon)] {
        match (g, w) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-7, "{g} != {w}"),
            (g, w) => assert_eq!(g, w),
        }
    }
}

fn ascii(tag: u16, text: &str) -> Field {
    let mut value = text.as_bytes().to_vec();
    value.push(0);
    field(tag, ASCII, value)
}

fn rationals(tag: u16, parts: &[(u32, u32)]) -> Field {
    let value = parts
        .iter()
        .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()])
        .flatten()
        .collect();
    field(tag, RATIONAL, value)
}

/// Overwrites the 4-byte value of `tag`'s entry in the little-endian IFD at `ifd`.
fn patch(tiff: &mut [u8], ifd: usize, tag: u16, value: u32) {
    let count = usize::from(u16::from_le_bytes([tiff[ifd], tiff[ifd + 1]]));
    let at = (0..count)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&at| u16::from_le_bytes([tiff[at], tiff[at + 1]]) == tag)
        .expect("tag present");
    tiff[at + 8..at + 12].copy_from_slice(&value.to_le_bytes());
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Everything a caller might run on untrusted bytes; only panics and hangs fail.
fn poke(bytes: &[u8]) {
    let _ = (
        sniff(bytes),
        dimensions(bytes),
        jpeg_exif(bytes),
        parse_tiff(bytes),
    );
}

#[test]
fn build_insert_parse_round_trips_every_orientation() {
    for orientation in 1..=8 {
        let want = full_info(orientation);
        let photo = insert_app1(&jpeg(4000, 3000), &build_tiff(&want)).unwrap();
        let got = jpeg_exif(&photo).unwrap().expect("exif found");
        assert_same(&got, &want);
        assert_eq!(
            dimensions(&photo),
            Some(Dimensions {
                width: 4000,
                height: 3000
            })
        );
    }
}

#[test]
fn round_trip_keeps_positive_coordinates_and_east_offsets() {
    let want = ExifInfo {
        lat: Some(21.027_763),
        lon: Some(105.834_160),
        offset_minutes: Some(420),
        ..full_info(1)
    };
    let got = jpeg_exif(&insert_app1(&jpeg(8, 8), &build_tiff(&want)).unwrap())
        .unwrap()
        .unwrap();
    assert_same(&got, &want);
    assert_eq!(got.offset_minutes, Some(420));
}

#[test]
fn seconds_that_round_to_sixty_carry_into_minutes_and_degrees() {
    let want = ExifInfo {
        lat: Some(10.999_999_999),
        lon: Some(-0.000_000_001),
        ..Default::default()
    };
    let got = parse_tiff(&build_tiff(&want)).unwrap();
    assert_eq!(got.lat, Some(11.0));
    // -0.000000001 rounds to 0 seconds: the W reference makes it -0.0, which is 0.
    assert_eq!(got.lon, Some(0.0));
}

#[test]
fn an_empty_info_builds_a_tiff_that_parses_to_nothing() {
    assert_eq!(
        parse_tiff(&build_tiff(&ExifInfo::default())),
        Ok(ExifInfo::default())
    );
}

#[test]
fn a_jpeg_without_exif_or_a_non_jpeg_gives_none() {
    assert_eq!(jpeg_exif(&jpeg(10, 10)), Ok(None));
    assert_eq!(jpeg_exif(b"\x89PNG\r\n\x1a\n"), Ok(None));
    assert_eq!(jpeg_exif(&[]), Ok(None));
}

#[test]
fn exif_after_sos_is_not_searched() {
    let mut photo = jpeg(10, 10);
    let eoi = photo.len() - 2;
    let app1 = insert_app1(&[0xFF, 0xD8], &build_tiff(&full_info(3))).unwrap();
    photo.splice(eoi..eoi, app1[2..].iter().copied());
    assert_eq!(jpeg_exif(&photo), Ok(None));
}

#[test]
fn date_time_in_ifd0_is_the_fallback_for_date_time_original() {
    let only_ifd0 = tiff_from_ifds(vec![ascii(0x0132, "2020:01:02 03:04:05")], vec![], None);
    let want = LocalDateTime {
        year: 2020,
        month: 1,
        day: 2,
        hour: 3,
        minute: 4,
        second: 5,
    };
    assert_eq!(parse_tiff(&only_ifd0).unwrap().taken_local, Some(want));
    let both = tiff_from_ifds(
        vec![ascii(0x0132, "2020:01:02 03:04:05")],
        vec![ascii(0x9003, "2021:06:07 08:09:10")],
        None,
    );
    assert_eq!(
        parse_tiff(&both).unwrap().taken_local.map(|t| t.year),
        Some(2021)
    );
}

#[test]
fn invalid_dates_and_offsets_are_ignored() {
    for text in [
        "0000:00:00 00:00:00",
        "    :  :     :  :  ",
        "2026:02:29 10:00:00",
        "2026:13:01 10:00:00",
        "2026:01:01 24:00:00",
        "2026-01-01 10:00:00",
        "2026:01:01",
        "",
    ] {
        let tiff = tiff_from_ifds(vec![], vec![ascii(0x9003, text)], None);
        assert_eq!(parse_tiff(&tiff).unwrap().taken_local, None, "{text:?}");
    }
    let leap = tiff_from_ifds(vec![], vec![ascii(0x9003, "2024:02:29 23:59:59")], None);
    assert!(parse_tiff(&leap).unwrap().taken_local.is_some());
    for (text, want) in [
        ("+07:00", Some(420)),
        ("-05:30", Some(-330)),
        ("+00:00", Some(0)),
        ("+14:00", Some(840)),
        ("+14:01", None),
        ("+07:60", None),
        ("07:00", None),
        ("+7:00", None),
        ("   :  ", None),
    ] {
        let tiff = tiff_from_ifds(vec![], vec![ascii(0x9011, text)], None);
        assert_eq!(parse_tiff(&tiff).unwrap().offset_minutes, want, "{text:?}");
    }
}

#[test]
fn tags_of_the_wrong_type_are_ignored_not_fatal() {
    let tiff = tiff_from_ifds(
        vec![field(0x0112, LONG, 6u32.to_le_bytes().to_vec())],
        vec![field(0x9003, SHORT, vec![1, 0]), ascii(0x9011, "+07:00")],
        Some(vec![
            ascii(1, "N"),
            ascii(2, "10"),
            ascii(3, "E"),
            rationals(4, &[(1, 1), (0, 1), (0, 1)]),
        ]),
    );
    let info = parse_tiff(&tiff).unwrap();
    assert_eq!(
        info,
        ExifInfo {
            offset_minutes: Some(420),
            ..Default::default()
        }
    );
}

#[test]
fn orientation_outside_one_to_eight_is_ignored() {
    for bad in [0, 9, 255] {
        let info = parse_tiff(&build_tiff(&ExifInfo {
            orientation: Some(bad),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(info.orientation, None);
    }
}

#[test]
fn gps_needs_both_coordinates_with_refs_in_range_and_nonzero_denominators() {
    let only_lat = ExifInfo {
        lat: Some(10.0),
        ..Default::default()
    };
    assert_eq!(
        parse_tiff(&build_tiff(&only_lat)).unwrap(),
        ExifInfo::default()
    );
    for (lat, lon) in [(90.5, 10.0), (10.0, -180.5)] {
        let info = parse_tiff(&build_tiff(&ExifInfo {
            lat: Some(lat),
            lon: Some(lon),
            ..Default::default()
        }));
        assert_eq!(info.unwrap().lat, None);
    }
    let edge = ExifInfo {
        lat: Some(-90.0),
        lon: Some(180.0),
        ..Default::default()
    };
    assert_same(&parse_tiff(&build_tiff(&edge)).unwrap(), &edge);
    let gps = |den: u32, lat_ref: &str| {
        let fields = vec![
            ascii(1, lat_ref),
            rationals(2, &[(10, 1), (30, den), (0, 1)]),
            ascii(3, "E"),
            rationals(4, &[(106, 1), (0, 1), (0, 1)]),
        ];
        parse_tiff(&tiff_from_ifds(vec![], vec![], Some(fields))).unwrap()
    };
    assert_eq!(gps(0, "N").lat, None);
    assert_eq!(gps(1, "X").lat, None);
    assert_eq!(
        (gps(1, "N").lat, gps(1, "N").lon),
        (Some(10.5), Some(106.0))
    );
}

#[test]
fn big_endian_tiff_is_read() {
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    assert_eq!(parse_tiff(&tiff).unwrap().orientation, Some(6));
}

#[test]
fn structural_damage_is_reported_as_broken() {
    let good = build_tiff(&full_info(1));
    let broken = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut tiff = good.clone();
        edit(&mut tiff);
        match parse_tiff(&tiff) {
            Err(ExifError::Broken(why)) => why,
            // A damaged Exif or GPS directory is skipped and said.
            Ok(ExifInfo {
                damaged: Some(why), ..
            }) => why,
            other => panic!("expected Broken, got {other:?}"),
        }
    };
    assert!(broken(&|t| t[0] = b'X').contains("byte-order"));
    assert!(broken(&|t| t[2] = 43).contains("magic"));
    assert!(broken(&|t| t.truncate(6)).contains("outside"));
    assert!(broken(&|t| t[4..8].copy_from_slice(&u32::MAX.to_le_bytes())).contains("outside"));
    assert!(broken(&|t| t[4..8].copy_from_slice(&2u32.to_le_bytes())).contains("outside"));
    assert!(broken(&|t| t[8..10].copy_from_slice(&u16::MAX.to_le_bytes())).contains("runs past"));
    assert!(broken(&|t| patch(t, 8, 0x8769, 1_000_000)).contains("outside"));
    assert!(broken(&|t| t.truncate(40)).contains("runs past"));
    assert!(format!("{}", ExifError::Broken("x")).contains("Exif"));
}

#[test]
fn an_ifd_pointing_to_itself_or_another_read_ifd_is_a_loop_not_a_hang() {
    let good = build_tiff(&full_info(1));
    let mut to_ifd0 = good.clone();
    patch(&mut to_ifd0, 8, 0x8769, 8);
    // Skipped and said; what IFD0 holds is kept.
    let looped = parse_tiff(&to_ifd0).unwrap();
    assert_eq!(looped.damaged.map(ExifError::Broken), Some(LOOP));
    assert_eq!(looped.orientation, Some(1));
    let mut gps_to_exif = good.clone();
    let exif_at = u32::from_le_bytes(good[30..34].try_into().unwrap());
    patch(&mut gps_to_exif, 8, 0x8825, exif_at);
    assert_eq!(
        parse_tiff(&gps_to_exif)
            .unwrap()
            .damaged
            .map(ExifError::Broken),
        Some(LOOP)
    );
    let mut zeroed = good;
    patch(&mut zeroed, 8, 0x8825, 0);
    assert_eq!(parse_tiff(&zeroed).unwrap().lat, None);
}

#[test]
fn every_prefix_of_a_photo_parses_without_panicking() {
    let tiff = build_tiff(&full_info(6));
    let photo = insert_app1(&jpeg(4000, 3000), &tiff).unwrap();
    let app1_end = 2 + 4 + EXIF_HEADER.len() + tiff.len();
    let sof_end = app1_end + 18 + 19;
    for n in 0..=photo.len() {
        let prefix = &photo[..n];
        let exif = jpeg_exif(prefix).unwrap();
        assert_eq!(exif.is_some(), n >= app1_end, "prefix {n}");
        assert_eq!(dimensions(prefix).is_some(), n >= sof_end, "prefix {n}");
    }
    for n in 0..=tiff.len() {
        let _ = parse_tiff(&tiff[..n]);
    }
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let heads: [&[u8]; 7] = [
        b"",
        b"\xFF\xD8\xFF",
        b"II*\0",
        b"MM\0*",
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\0\0\0\0WEBPVP8",
        b"\0\0\0\x18ftypmif1",
    ];
    for round in 0..3000 {
        let mut bytes = heads[round % heads.len()].to_vec();
        let len = rng.next() % 200;
        bytes.extend((0..len).map(|_| rng.next() as u8));
        poke(&bytes);
    }
    let photo = insert_app1(&jpeg(640, 480), &build_tiff(&full_info(8))).unwrap();
    let tiff = build_tiff(&full_info(8));
    for _ in 0..5000 {
        let (mut p, mut t) = (photo.clone(), tiff.clone());
        for _ in 0..1 + rng.next() % 4 {
            let r = rng.next();
            let i = (r >> 8) as usize;
            p[i % photo.len()] = r as u8;
            t[i % tiff.len()] = r as u8;
        }
        poke(&p);
        poke(&t);
    }
}

#[test]
fn jpeg_dimensions_skip_segments_fill_bytes_and_restart_markers() {
    assert_eq!(
        dimensions(&jpeg(65535, 65535)),
        Some(Dimensions {
            width: 65535,
            height: 65535
        })
    );
    let mut j = vec![
        0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xD0, 0xFF, 0xDB, 0, 4, 0, 0, 0xFF, 0xC4, 0, 2,
    ];
    j.extend([0xFF, 0xC2, 0, 11, 8, 0x01, 0x00, 0x02, 0x00, 1, 1, 0x11, 0]);
    assert_eq!(
        dimensions(&j),
        Some(Dimensions {
            width: 512,
            height: 256
        })
    );
}

#[test]
fn jpeg_dimensions_reject_corrupt_headers() {
    // A zero-length segment must stop the walk, not spin on it.
    assert_eq!(
        dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0xFF, 0xC0]),
        None
    );
    assert_eq!(
        dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 0xFF, 0xC0]),
        None
    );
    // Height 0 ("see DNL"), garbage between segments, SOS before any SOF.
    assert_eq!(dimensions(&jpeg(100, 0)), None);
    assert_eq!(
        dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 2, 0x12, 0xFF, 0xC0, 0, 17, 8, 0, 1, 0, 1]),
        None
    );
    assert_eq!(
        dimensions(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xC0, 0, 17, 8, 0, 1, 0, 1, 3]),
        None
    );
    assert_eq!(dimensions(&[0xFF, 0xD8, 0xFF]), None);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    p.extend(width.to_be_bytes());
    p.extend(height.to_be_bytes());
    p.extend([8, 6, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF]);
    p
}

fn webp(chunk: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut w = b"RIFF\x40\0\0\0WEBP".to_vec();
    w.extend(chunk);
    w.extend((data.len() as u32).to_le_bytes());
    w.extend(data);
    w
}

#[test]
fn png_and_webp_dimensions_come_from_their_first_chunk() {
    let size = |width, height| Some(Dimensions { width, height });
    assert_eq!(dimensions(&png(1920, 1080)), size(1920, 1080));
    assert_eq!(dimensions(&png(1920, 1080)[..23]), None);
    let mut not_ihdr = png(1, 1);
    not_ihdr[12] = b'i';
    assert_eq!(dimensions(&not_ihdr), None);

    let lossy = [0x50, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x41];
    assert_eq!(dimensions(&webp(b"VP8 ", &lossy)), size(640, 480));
    let mut inter_frame = lossy;
    inter_frame[0] |= 1;
    assert_eq!(dimensions(&webp(b"VP8 ", &inter_frame)), None);

    // width-1 = 399 and height-1 = 299 packed as 14 + 14 bits.
    let bits: u32 = 399 | (299 << 14) | (1 << 28);
    let mut lossless = vec![0x2F];
    lossless.extend(bits.to_le_bytes());
    assert_eq!(dimensions(&webp(b"VP8L", &lossless)), size(400, 300));
    lossless[4] |= 0x20; // version 1
    assert_eq!(dimensions(&webp(b"VP8L", &lossless)), None);

    let extended = [0x10, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x0F, 0x27, 0x00];
    assert_eq!(
        dimensions(&webp(b"VP8X", &extended)),
        size(16_777_216, 10_000)
    );
    assert_eq!(dimensions(&webp(b"VP8X", &extended[..9])), None);
}

#[test]
fn sniff_recognises_each_format_by_its_first_bytes() {
    let mut bmp = b"BM\0\0\0\0\0\0\0\0\x36\0\0\0".to_vec();
    bmp.extend(40u32.to_le_bytes());
    let cases: [(&[u8], Format); 14] = [
        (&jpeg(1, 1), Format::Jpeg),
        (&png(1, 1), Format::Png),
        (&webp(b"VP8 ", &[]), Format::Webp),
        (b"GIF89a\x01\0\x01\0", Format::Gif),
        (b"GIF87a", Format::Gif),
        (&bmp, Format::Bmp),
        (b"BMW is a car", Format::Unknown),
        (b"II*\0\x08\0\0\0", Format::Tiff),
        (b"MM\0*\0\0\0\x08", Format::Tiff),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", Format::Heif),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf", Format::Avif),
        (b"\0\0\0\x20ftypmif1\0\0\0\0mif1miafMA1Bavif", Format::Avif),
        (b"\0\0\0\x18ftypmif1\0\0\0\0mif1heicavif", Format::Heif),
        (b"\0\0\0\x18ftypisom\0\0\0\0isomavc1", Format::Unknown),
    ];
    for (bytes, want) in cases {
        assert_eq!(sniff(bytes), want, "{bytes:?}");
    }
    assert_eq!(sniff(&[]), Format::Unknown);
    assert_eq!(Format::Jpeg.mime(), Some("image/jpeg"));
    assert_eq!(Format::Heif.extension(), "heic");
    assert_eq!(
        (Format::Unknown.mime(), Format::Unknown.extension()),
        (None, "bin")
    );
}

#[test]
fn epoch_milliseconds_match_known_instants() {
    let at = |year, month, day, hour, minute, second| LocalDateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    };
    assert_eq!(at(1970, 1, 1, 0, 0, 0).to_epoch_ms(0), 0);
    // 14:30 at +07:00 is 07:30 UTC; 2026-03-05 is day 20517 after 1970-01-01.
    assert_eq!(
        at(2026, 3, 5, 14, 30, 0).to_epoch_ms(420),
        1_772_695_800_000
    );
    assert_eq!(
        20_517 * 86_400_000 + (7 * 3600 + 30 * 60) * 1000,
        1_772_695_800_000i64
    );
    assert_eq!(at(2000, 2, 29, 12, 0, 0).to_epoch_ms(-330), 951_845_400_000);
    assert_eq!(at(1969, 12, 31, 23, 59, 59).to_epoch_ms(0), -1000);
    assert_eq!(at(1600, 3, 1, 0, 0, 0).to_epoch_ms(0), -11_670_912_000_000);
    assert_eq!(
        at(9999, 12, 31, 23, 59, 59).to_epoch_ms(-720),
        253_402_343_999_000
    );
    assert_eq!(at(1, 1, 1, 0, 0, 0).to_epoch_ms(840), -62_135_647_200_000);
    // Nonsense from a caller saturates or is merely wrong, never panics.
    assert_eq!(
        at(i32::MAX, 12, 31, 23, 59, 59).to_epoch_ms(i32::MIN),
        i64::MAX
    );
    assert_eq!(
        at(i32::MIN, 0, 0, 255, 255, 255).to_epoch_ms(i32::MAX),
        i64::MIN
    );
}

#[test]
fn insert_app1_needs_a_jpeg_and_a_tiff_that_fits_one_segment() {
    assert_eq!(insert_app1(b"\x89PNG", &[]), None);
    assert_eq!(insert_app1(&[0xFF, 0xD8], &vec![0; 65_535 - 7]), None);
    assert!(insert_app1(&[0xFF, 0xD8], &vec![0; 65_535 - 8]).is_some());
}

/// A portrait photo whose GPS pointer is broken keeps its orientation: the
/// whole block was dropped, and the photo was stored sideways.
#[test]
fn a_damaged_gps_directory_keeps_the_orientation_and_says_so() {
    let info = ExifInfo {
        orientation: Some(6),
        lat: Some(21.27),
        lon: Some(106.19),
        ..Default::default()
    };
    let mut tiff = build_tiff(&info);
    // The GPS pointer: tag 0x8825, type LONG, count 1 (little-endian).
    let at = tiff
        .windows(8)
        .position(|w| w == [0x25, 0x88, 4, 0, 1, 0, 0, 0])
        .expect("a GPS pointer");
    tiff[at + 8..at + 12].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    let got = parse_tiff(&tiff).unwrap();
    assert_eq!(got.orientation, Some(6));
    assert_eq!((got.lat, got.lon), (None, None));
    assert!(got.damaged.is_some());
}
