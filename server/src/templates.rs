//! Spreadsheet templates the office hands to district and commune offices. The
//! registry intake template's headers are the intake's own column list, so a
//! filled template always reads back; its second sheet says what each column
//! takes and lists the accepted industry groups and kinds of support.

use crate::exports::{new_workbook, open_sheet, save, Cell, Sink};
use app::error::AppError;
use app::i18n::{t, Lang};
use app::model::INDUSTRIES;
use app::office::registry::rows::{COLUMNS, SUPPORT_KINDS};
use std::fs::File;

/// A filled row for the instructions, valid against the intake's checks.
pub const EXAMPLE: [&str; 12] = [
    "Cơ sở mộc Hưng Thịnh",
    "Nguyễn Văn An",
    "thôn Đông, phường Bắc Giang",
    "07210",
    "0101234567",
    "Sản xuất hàng thủ công mỹ nghệ",
    "0912 345 678",
    "Ứng dụng máy chà nhám tự động trong sản xuất đồ gỗ",
    "Ứng dụng máy móc thiết bị tiên tiến",
    "1.500.000.000",
    "2026",
    "BG-2026-001",
];

/// What each column takes, in the template's order.
const HELP: [&str; 12] = [
    "Tên cơ sở sản xuất (tối đa 200 ký tự).",
    "Họ tên chủ cơ sở.",
    "Thôn/xóm, số nhà.",
    "Mã xã/phường (5 chữ số) hoặc tên xã/phường của năm khảo sát.",
    "10 chữ số, hoặc 10 chữ số và mã chi nhánh (0101234567-001). Dùng để nhận ra cơ sở đã có.",
    "Một trong các nhóm ngành bên dưới.",
    "10 hoặc 11 chữ số, bắt đầu bằng 0 (hoặc +84).",
    "Tên đề án đề nghị hỗ trợ.",
    "Một trong các hình thức hỗ trợ bên dưới.",
    "Số đồng, ví dụ 1.500.000.000 hoặc 1500000000 (không ghi “triệu”, không có phần lẻ).",
    "Năm kế hoạch, bốn chữ số.",
    "Mã của đơn vị gửi (tùy chọn). Nhập lại cùng mã sẽ cập nhật đề án thay vì thêm mới.",
];

/// The intake template: an empty registry sheet and the instructions.
pub fn registry_template() -> Result<File, AppError> {
    let mut book = new_workbook();
    let widths: Vec<f64> = COLUMNS
        .iter()
        .map(|c| if c.required { 28.0 } else { 22.0 })
        .collect();
    let mut sheet = open_sheet(&mut book, "Đăng ký", &widths)?;
    let header: Vec<Cell> = COLUMNS
        .iter()
        .map(|c| Cell::Text(c.header.into()))
        .collect();
    sheet.row(&header)?;
    drop(sheet);
    let mut help = open_sheet(&mut book, "Hướng dẫn", &[30.0, 12.0, 90.0, 40.0])?;
    help.row(&["Cột", "Bắt buộc", "Ghi gì", "Ví dụ"].map(text))?;
    for ((column, what), example) in COLUMNS.iter().zip(HELP).zip(EXAMPLE) {
        let required = if column.required { "Có" } else { "Không" };
        help.row(&[column.header, required, what, example].map(text))?;
    }
    help.row(&[text("")])?;
    help.row(&[text("Nhóm ngành")])?;
    for group in INDUSTRIES {
        help.row(&[text(&t(Lang::Vi, &format!("industry.{group}")))])?;
    }
    help.row(&[text("")])?;
    help.row(&[text("Hình thức hỗ trợ")])?;
    for kind in SUPPORT_KINDS {
        help.row(&[text(&t(Lang::Vi, &format!("support_kind.{kind}")))])?;
    }
    drop(help);
    save(book)
}

/// A year's registry in the template's layout (labels in Vietnamese, amounts
/// as numbers): importing it again changes nothing.
pub fn registry_export(rows: &[app::store::registry::ExportRow]) -> Result<File, AppError> {
    let mut book = new_workbook();
    let widths: Vec<f64> = COLUMNS.iter().map(|_| 24.0).collect();
    let mut sheet = open_sheet(&mut book, "Đăng ký", &widths)?;
    let header: Vec<Cell> = COLUMNS
        .iter()
        .map(|c| Cell::Text(c.header.into()))
        .collect();
    sheet.row(&header)?;
    let opt = |v: &Option<String>| text(v.as_deref().unwrap_or(""));
    for r in rows {
        sheet.row(&[
            text(&r.facility_name),
            opt(&r.owner_name),
            opt(&r.address),
            opt(&r.commune),
            opt(&r.tax_code),
            text(&t(Lang::Vi, &format!("industry.{}", r.industry_group))),
            opt(&r.phone),
            text(&r.title),
            text(&t(Lang::Vi, &format!("support_kind.{}", r.support_kind))),
            Cell::Count(r.requested_amount),
            Cell::Count(i64::from(r.year)),
            opt(&r.external_ref),
        ])?;
    }
    drop(sheet);
    save(book)
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::office::registry::rows::{check_rows, MAX_INTAKE_BYTES, MAX_INTAKE_ROWS};
    use app::office::sheet::{read, Legacy, Row};
    use std::io::Read;

    fn bytes() -> Vec<u8> {
        let mut out = Vec::new();
        registry_template().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn the_template_reads_back_as_the_intakes_columns_with_no_rows() {
        let table = read(&bytes(), MAX_INTAKE_BYTES, MAX_INTAKE_ROWS, Legacy::None).unwrap();
        let headers: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(table.header, headers);
        assert!(table.rows.is_empty());
        let (_, problems) = check_rows(&table);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "registry.no_rows");
    }

    #[test]
    fn the_example_row_passes_the_intakes_checks() {
        let mut table = read(&bytes(), MAX_INTAKE_BYTES, MAX_INTAKE_ROWS, Legacy::None).unwrap();
        table.rows.push(Row {
            number: 2,
            cells: EXAMPLE.map(String::from).to_vec(),
        });
        let (rows, problems) = check_rows(&table);
        assert_eq!(problems, vec![]);
        assert_eq!(rows[0].requested_amount, 1_500_000_000);
        assert_eq!(rows[0].industry_group, "handicrafts");
    }
}
