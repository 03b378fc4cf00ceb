//! Formatting that must read the same on the server page and on the phone:
//! VND with "." thousands separators, and dates in Vietnam time (UTC+7, no DST).

/// "12.500.000 ₫".
pub fn vnd(amount: i64) -> String {
    format!("{} ₫", thousands(amount))
}

const VIETNAM_OFFSET_MS: i64 = 7 * 3600 * 1000;

/// Civil date (y, m, d) from days since 1970-01-01 (Howard Hinnant's algorithm);
/// avoids a date crate in the wasm bundle.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (the inverse of `civil_from_days`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The first millisecond of a day in Vietnam time (`YYYY-MM-DD`), or None if the
/// text is not a real date.
pub fn vietnam_day_start_ms(iso: &str) -> Option<i64> {
    let (y, m, d) = crate::forms::rules::parse_iso_date(iso)?;
    Some(days_from_civil(i64::from(y), m, d) * 86_400_000 - VIETNAM_OFFSET_MS)
}

/// Bytes as megabytes with a decimal comma, the Vietnamese way: "1,4 MB".
pub fn megabytes(bytes: i64) -> String {
    let tenths = (bytes.max(0) as f64 / 100_000.0).round() as i64;
    format!("{},{} MB", tenths / 10, tenths % 10)
}

/// "dd/mm/yyyy" in Vietnam time for a UTC timestamp in milliseconds.
pub fn date_vn(utc_ms: i64) -> String {
    let local = utc_ms + VIETNAM_OFFSET_MS;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400_000));
    format!("{d:02}/{m:02}/{y:04}")
}

/// "HH:MM:SS" in Vietnam time.
pub fn time_vn(utc_ms: i64) -> String {
    let secs_of_day = (utc_ms + VIETNAM_OFFSET_MS).rem_euclid(86_400_000) / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// Bytes as a person reads a storage size: "850 MB", "1.023 MB", "10,0 GB"
/// (binary units, Vietnamese separators: dots between thousands, a decimal comma).
pub fn storage_size(bytes: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mb = bytes.max(0.0) / MIB;
    if mb >= 1024.0 {
        let tenths = (mb / 1024.0 * 10.0).round() as i64;
        return format!("{},{} GB", thousands(tenths / 10), tenths % 10);
    }
    if mb >= 100.0 {
        return format!("{} MB", thousands(mb.round() as i64));
    }
    let tenths = (mb * 10.0).round() as i64;
    format!("{},{} MB", tenths / 10, tenths % 10)
}

/// "15/06/2026" for the ISO date "2026-06-15" (what a date filter shows).
pub fn iso_to_vn(iso: &str) -> String {
    match crate::forms::rules::parse_iso_date(iso) {
        Some((y, m, d)) => format!("{d:02}/{m:02}/{y:04}"),
        None => iso.to_string(),
    }
}

/// A date typed day first, as Vietnamese write it ("15/6/2026", "15-06-2026",
/// "15.06.2026"), or already ISO: the ISO date, or `None` when it is no date.
pub fn parse_date_vn(text: &str) -> Option<String> {
    let text = text.trim();
    if crate::forms::rules::parse_iso_date(text).is_some() {
        return Some(text.to_string());
    }
    let parts: Vec<&str> = text.split(['/', '-', '.']).map(str::trim).collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 || d.is_empty() || m.is_empty() || d.len() > 2 || m.len() > 2 {
        return None;
    }
    let (d, m, y): (u32, u32, i32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    let iso = format!("{y:04}-{m:02}-{d:02}");
    crate::forms::rules::parse_iso_date(&iso).map(|_| iso)
}

/// "1.234,75": a number the Vietnamese way, dots between thousands and a
/// decimal comma, with no trailing zeros (at most six decimals).
pub fn decimal_vn(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    let text = format!("{:.6}", n.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = fraction.trim_end_matches('0');
    let whole: i64 = whole.parse().unwrap_or(0);
    let sign = if n < 0.0 && (whole != 0 || !fraction.is_empty()) {
        "-"
    } else {
        ""
    };
    match fraction {
        "" => format!("{sign}{}", thousands(whole)),
        f => format!("{sign}{},{f}", thousands(whole)),
    }
}

/// A number for reading: whole numbers under 10,000 as written, so a year
/// reads "2008", not "2.008"; larger ones grouped. Vietnamese: "1.000.000",
/// "12,5"; English: "1,000,000", "12.5".
pub fn readable_number(n: f64, vietnamese: bool) -> String {
    let text = if n.is_finite() && n.fract() == 0.0 && n.abs() < 10_000.0 {
        format!("{}", n as i64)
    } else {
        decimal_vn(n)
    };
    in_notation(&text, vietnamese)
}

/// A number written the Vietnamese way ("1.023 MB", "1,4 MB") in the
/// reader's notation: English swaps the thousands dot and the decimal comma.
pub fn in_notation(text: &str, vietnamese: bool) -> String {
    if vietnamese {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '.' => ',',
            ',' => '.',
            c => c,
        })
        .collect()
}

/// "1.234.567": dots between thousands, the Vietnamese way.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// "dd/mm/yyyy HH:MM" in Vietnam time.
pub fn datetime_vn(utc_ms: i64) -> String {
    let local = utc_ms + VIETNAM_OFFSET_MS;
    let secs_of_day = local.rem_euclid(86_400_000) / 1000;
    format!(
        "{} {:02}:{:02}",
        date_vn(utc_ms),
        secs_of_day / 3600,
        (secs_of_day / 60) % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vietnam_day_starts_at_17h_utc_the_day_before() {
        for days in [-800_000, -1, 0, 1, 18_262, 20_000, 800_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2020-01-01 00:00 in Hà Nội is 2019-12-31 17:00 UTC.
        assert_eq!(vietnam_day_start_ms("2020-01-01"), Some(1_577_811_600_000));
        assert_eq!(vietnam_day_start_ms("2020-02-30"), None);
    }

    #[test]
    fn megabytes_use_a_decimal_comma() {
        assert_eq!(megabytes(0), "0,0 MB");
        assert_eq!(megabytes(1_449_999), "1,4 MB");
        assert_eq!(megabytes(25_000_000), "25,0 MB");
        // An English reader read "1,4 MB" as fourteen.
        assert_eq!(in_notation(&megabytes(1_449_999), false), "1.4 MB");
        assert_eq!(in_notation("1.023 MB", false), "1,023 MB");
        assert_eq!(in_notation("1,4 MB", true), "1,4 MB");
    }

    #[test]
    fn storage_sizes_switch_to_gigabytes_above_1024_megabytes() {
        const MIB: f64 = 1024.0 * 1024.0;
        assert_eq!(storage_size(0.0), "0,0 MB");
        assert_eq!(storage_size(12.5 * MIB), "12,5 MB");
        assert_eq!(storage_size(850.4 * MIB), "850 MB");
        assert_eq!(storage_size(1023.0 * MIB), "1.023 MB");
        assert_eq!(storage_size(1024.0 * MIB), "1,0 GB");
        // What a 10 GB quota read as before: "10243 MB".
        assert_eq!(storage_size(10243.0 * MIB), "10,0 GB");
        assert_eq!(storage_size(123_456.0 * MIB), "120,6 GB");
    }

    #[test]
    fn decimals_use_a_comma_and_dots_between_thousands() {
        assert_eq!(decimal_vn(350.5), "350,5");
        assert_eq!(decimal_vn(1234.75), "1.234,75");
        assert_eq!(decimal_vn(1_000_000.0), "1.000.000");
        assert_eq!(decimal_vn(0.1 + 0.2), "0,3");
        assert_eq!(decimal_vn(-2.5), "-2,5");
        assert_eq!(decimal_vn(0.0), "0");
    }

    #[test]
    fn dates_are_typed_and_shown_day_first() {
        assert_eq!(parse_date_vn("15/06/2026").as_deref(), Some("2026-06-15"));
        assert_eq!(parse_date_vn(" 1/6/2026 ").as_deref(), Some("2026-06-01"));
        assert_eq!(parse_date_vn("01-06-2026").as_deref(), Some("2026-06-01"));
        assert_eq!(parse_date_vn("01.06.2026").as_deref(), Some("2026-06-01"));
        assert_eq!(parse_date_vn("2026-06-01").as_deref(), Some("2026-06-01"));
        assert_eq!(parse_date_vn("29/02/2024").as_deref(), Some("2024-02-29"));
        for bad in [
            "31/02/2026",
            "06/15/2026",
            "15/06/26",
            "",
            "hôm qua",
            "1/1/1/2026",
        ] {
            assert_eq!(parse_date_vn(bad), None, "{bad}");
        }
        assert_eq!(iso_to_vn("2026-06-15"), "15/06/2026");
    }

    #[test]
    fn times_of_day_are_vietnam_time() {
        // 2026-12-03 07:05:09 UTC is 14:05:09 in Hà Nội.
        let ms = (days_from_civil(2026, 12, 3) * 86_400 + 7 * 3600 + 5 * 60 + 9) * 1000;
        assert_eq!(time_vn(ms), "14:05:09");
    }

    #[test]
    fn years_read_as_written_and_large_numbers_grouped() {
        assert_eq!(super::readable_number(2008.0, true), "2008");
        assert_eq!(super::readable_number(1900.0, false), "1900");
        assert_eq!(super::readable_number(1_000_000.0, true), "1.000.000");
        assert_eq!(super::readable_number(1_000_000.0, false), "1,000,000");
        assert_eq!(super::readable_number(12.5, true), "12,5");
        assert_eq!(super::readable_number(12.5, false), "12.5");
    }

    #[test]
    fn money_uses_dots_between_thousands() {
        assert_eq!(vnd(12_500_000), "12.500.000 ₫");
        assert_eq!(vnd(0), "0 ₫");
        assert_eq!(vnd(999), "999 ₫");
        assert_eq!(vnd(1_000), "1.000 ₫");
        assert_eq!(vnd(-1_500_000), "-1.500.000 ₫");
    }

    #[test]
    fn dates_are_shown_in_vietnam_time() {
        // 2019-12-23T17:30:00Z is already 24/12 in Hà Nội.
        assert_eq!(date_vn(1_577_122_200_000), "24/12/2019");
        assert_eq!(datetime_vn(1_577_122_200_000), "24/12/2019 00:30");
        assert_eq!(date_vn(0), "01/01/1970");
    }
}
