//! CSV in the encodings and separators Excel writes in Vietnam, XLSX cell values,
//! and the limits that hold before cells are read.

use super::*;

#[test]
fn csv_with_a_bom_reads_like_without() {
    let plain = read(
        b"code,name\n24,B\xe1\xba\xafc Giang\n",
        1 << 20,
        10,
        Legacy::None,
    )
    .unwrap();
    let bom = read(
        b"\xEF\xBB\xBFcode,name\r\n24,B\xe1\xba\xafc Giang\r\n",
        1 << 20,
        10,
        Legacy::None,
    )
    .unwrap();
    assert_eq!(plain, bom);
    assert_eq!(plain.header, vec!["code", "name"]);
    assert_eq!(plain.rows[0].number, 2);
    assert_eq!(plain.rows[0].cell(1), "Bắc Giang");
    assert_eq!(plain.rows[0].cell(7), "");
}

#[test]
fn csv_that_is_not_utf8_names_its_row() {
    // "Bắc" in Windows-1258 on the third line.
    let err = read(b"code,name\n24,ok\n213,B\xe9c\n", 1 << 20, 10, Legacy::None).unwrap_err();
    assert_eq!(err, SheetError::NotUtf8 { row: 3 });
}

#[test]
fn windows_1258_csv_is_read_where_allowed_with_tones_composed() {
    // "Bắc Giang;Lục Ngạn" as Excel (vi-VN) saves it: Windows-1258, with the
    // tones as combining marks (0xEC acute, 0xF2 dot below) and semicolons.
    let cp1258 = b"ten;huyen\nB\xe3\xecc Giang;Lu\xf2c Nga\xf2n\n";
    let t = read(cp1258, 1 << 20, 10, Legacy::Cp1258).unwrap();
    assert_eq!(t.header, vec!["ten", "huyen"]);
    assert_eq!(t.rows[0].cells, vec!["Bắc Giang", "Lục Ngạn"]);
    assert_eq!(
        read(cp1258, 1 << 20, 10, Legacy::None).unwrap_err(),
        SheetError::NotUtf8 { row: 2 }
    );
    // 0x81 is undefined in Windows-1258: neither encoding, row named.
    assert_eq!(
        read(b"a\nb\nc\x81\n", 1 << 20, 10, Legacy::Cp1258).unwrap_err(),
        SheetError::NotText { row: 3 }
    );
}

#[test]
fn utf16_and_tab_separated_text_is_read() {
    let text = "mã\ttên\n24\tBắc Ninh\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let t = read(&bytes, 1 << 20, 10, Legacy::None).unwrap();
    assert_eq!(t.header, vec!["mã", "tên"]);
    assert_eq!(t.rows[0].cells, vec!["24", "Bắc Ninh"]);
}

#[test]
fn a_last_row_without_a_line_break_counts_toward_the_limit() {
    // Eleven data rows, the last one unterminated: as many line breaks as the
    // limit allows rows, one record more.
    let eleven = "code".to_string() + &"\n1".repeat(11);
    assert_eq!(
        read(eleven.as_bytes(), 1 << 20, 10, Legacy::None).unwrap_err(),
        SheetError::TooManyRows { limit: 10 }
    );
    let ten = "code".to_string() + &"\n1".repeat(10);
    assert_eq!(
        read(ten.as_bytes(), 1 << 20, 10, Legacy::None)
            .unwrap()
            .rows
            .len(),
        10
    );
}

#[test]
fn limits_hold_before_cells_are_read() {
    let big = "code\n".to_string() + &"1\n".repeat(11);
    assert_eq!(
        read(big.as_bytes(), 1 << 20, 10, Legacy::None).unwrap_err(),
        SheetError::TooManyRows { limit: 10 }
    );
    let ten = "code\n".to_string() + &"1\n".repeat(10);
    assert_eq!(
        read(ten.as_bytes(), 1 << 20, 10, Legacy::None)
            .unwrap()
            .rows
            .len(),
        10
    );
    assert_eq!(
        read(&[b'a'; 100], 99, 10, Legacy::None).unwrap_err(),
        SheetError::TooLarge { limit: 99 }
    );
    // Quoted line breaks are one record, not many.
    let quoted = "code,name\n1,\"a\nb\nc\nd\"\n";
    assert_eq!(
        read(quoted.as_bytes(), 1 << 20, 1, Legacy::None)
            .unwrap()
            .rows
            .len(),
        1
    );
}

#[test]
fn line_breaks_of_a_carriage_return_alone_count_toward_the_limit() {
    // The parser ends a record at a lone CR too: a file of CRs only once
    // counted as one line and was parsed whole, however many rows it held.
    let many = "code".to_string() + &"\r1".repeat(100_000);
    assert_eq!(
        read(many.as_bytes(), 1 << 20, 10, Legacy::None).unwrap_err(),
        SheetError::TooManyRows { limit: 10 }
    );
    let ten = "code".to_string() + &"\r1".repeat(10);
    let table = read(ten.as_bytes(), 1 << 20, 10, Legacy::None).unwrap();
    assert_eq!(table.rows.len(), 10);
    // Rows are numbered as a spreadsheet shows them.
    let numbers: Vec<usize> = table.rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, (2..=11).collect::<Vec<_>>());
}

#[test]
fn formulas_in_csv_are_text_and_blank_rows_are_skipped() {
    let t = read(
        b"\n,\ncode,name\n=1+1,x\n,\n2,y\n",
        1 << 20,
        10,
        Legacy::None,
    )
    .unwrap();
    assert_eq!(t.header, vec!["code", "name"]);
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0].cell(0), "=1+1");
    assert_eq!(t.rows[1].number, 6);
}

#[test]
fn xlsx_cells_read_as_their_values() {
    let bytes = xlsx(|sheet| {
        sheet.write_string(0, 0, "code").unwrap();
        sheet.write_string(0, 1, "name").unwrap();
        sheet.write_number(1, 0, 7210.0).unwrap();
        sheet.write_string(1, 1, " Bắc Giang ").unwrap();
        sheet
            .write_formula(2, 0, rust_xlsxwriter::Formula::new("=1+1").set_result("2"))
            .unwrap();
        sheet.write_string(2, 1, "=HYPERLINK(\"x\")").unwrap();
    });
    let t = read(&bytes, 1 << 20, 10, Legacy::None).unwrap();
    assert_eq!(t.header, vec!["code", "name"]);
    assert_eq!(t.rows[0].cells, vec!["7210", "Bắc Giang"]);
    assert_eq!(t.rows[1].cells, vec!["2", "=HYPERLINK(\"x\")"]);
    assert_eq!(t.rows[1].number, 3);
}

#[test]
fn xlsx_rows_are_limited_by_the_sheet_dimensions() {
    let bytes = xlsx(|sheet| {
        sheet.write_string(0, 0, "code").unwrap();
        for r in 1..=11 {
            sheet.write_number(r, 0, r as f64).unwrap();
        }
    });
    assert_eq!(
        read(&bytes, 1 << 20, 10, Legacy::None).unwrap_err(),
        SheetError::TooManyRows { limit: 10 }
    );
    assert_eq!(
        read(&bytes, 1 << 20, 11, Legacy::None).unwrap().rows.len(),
        11
    );
}

#[test]
fn a_zip_bomb_is_refused_before_the_spreadsheet_reader_sees_it() {
    use std::io::Write;
    // 30 MB of zeros deflate to about 30 KB: under the 1 MB file limit, over
    // the 16 MB a file that small may expand to (100 times its size, at least
    // 16 MB). The member claims to be the shared strings.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/sharedStrings.xml", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..30 {
        zip.write_all(&zeros).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
    assert_eq!(
        read(&bytes, 1 << 20, 10, Legacy::None).unwrap_err(),
        SheetError::Expands { limit: 16 << 20 }
    );
    // Under a route limit of 20 MB (the intake's), 20 times that would have
    // let it expand to 400 MB: the file's own size decides first.
    assert_eq!(
        read(&bytes, 20 << 20, 10, Legacy::None).unwrap_err(),
        SheetError::Expands { limit: 16 << 20 }
    );
}

#[test]
fn cells_beyond_the_column_limit_are_ignored() {
    let wide = format!(
        "code,name{}\n24,x{}\n",
        ",".repeat(100_000),
        ",y".repeat(100_000)
    );
    let t = read(wide.as_bytes(), 1 << 20, 10, Legacy::None).unwrap();
    assert_eq!(t.header.len(), MAX_COLUMNS);
    assert_eq!(t.rows[0].cells.len(), MAX_COLUMNS);
    assert_eq!(t.rows[0].cell(1), "x");
    let bytes = xlsx(|sheet| {
        sheet.write_string(0, 0, "code").unwrap();
        sheet.write_string(0, 200, "far").unwrap();
        sheet.write_string(1, 0, "24").unwrap();
    });
    let t = read(&bytes, 1 << 20, 10, Legacy::None).unwrap();
    assert_eq!(t.header, vec!["code"]);
}

#[test]
fn a_broken_zip_is_unreadable_not_a_panic() {
    let err = read(b"PK\x03\x04garbage", 1 << 20, 10, Legacy::None).unwrap_err();
    assert!(matches!(err, SheetError::Unreadable(_)), "{err:?}");
}

fn xlsx(fill: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    fill(book.add_worksheet());
    book.save_to_buffer().unwrap()
}

#[test]
fn the_first_sheet_a_person_sees_is_read_not_a_hidden_one() {
    // A workbook made from a template often has its drop-down lists on a
    // hidden sheet in front.
    let mut book = rust_xlsxwriter::Workbook::new();
    let lists = book.add_worksheet();
    lists.write_string(0, 0, "Danh mục").unwrap();
    lists.set_hidden(true);
    let data = book.add_worksheet();
    data.write_string(0, 0, "ma").unwrap();
    data.write_string(1, 0, "07210").unwrap();
    // Excel keeps the active sheet visible: the data sheet is the active one.
    data.set_active(true);
    let bytes = book.save_to_buffer().unwrap();
    let t = read(&bytes, 1 << 20, 10, Legacy::None).unwrap();
    assert_eq!(t.header, vec!["ma".to_string()]);
    assert_eq!(t.rows.len(), 1);
}
