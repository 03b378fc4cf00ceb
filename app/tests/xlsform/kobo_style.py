"""Writes kobo_style.xlsx: a form laid out as KoboToolbox exports and ODK's
documentation writes them (language columns, groups, a repeat, metadata
questions, relevant with selected(), a regex constraint, Kobo's $kuid column),
saved by openpyxl rather than by khaosat's own writer.

    pip install openpyxl==3.1.5 && python3 kobo_style.py
"""
from pathlib import Path

from openpyxl import Workbook

VI, EN = "Tiếng Việt (vi)", "English (en)"
SURVEY = [
    ["type", "name", f"label::{VI}", f"label::{EN}", f"hint::{VI}", f"hint::{EN}", "required",
     "relevant", "constraint", f"constraint_message::{VI}", f"constraint_message::{EN}",
     "appearance", "parameters", "$kuid"],
    ["start", "start", None, None, None, None, None, None, None, None, None, None, None, "k1"],
    ["end", "end", None, None, None, None, None, None, None, None, None, None, None, "k2"],
    ["deviceid", "deviceid", None, None, None, None, None, None, None, None, None, None, None, "k3"],
    ["begin_group", "co_so", "Thông tin cơ sở", "The facility", None, None, None, None, None, None, None, "field-list", None, "k4"],
    ["text", "nguoi_tra_loi", "Người trả lời", "Respondent", "Họ và tên", "Full name", "yes"],
    ["text", "dien_thoai", "Số điện thoại", "Phone number", "ví dụ 0912345678", "e.g. 0912345678", None, None,
     "regex(., '^0[0-9]{9}$')", "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0", "A phone number is 10 digits starting with 0"],
    ["integer", "so_lao_dong", "Số lao động", "Number of workers", None, None, "yes", None,
     ". >= 0 and . <= 5000", "Từ 0 đến 5000 người", "From 0 to 5000 people"],
    ["select_multiple ho_tro", "ho_tro", "Nội dung đề nghị hỗ trợ", "Support requested", None, None, "yes"],
    ["text", "may_moc_khac", "Máy móc cần hỗ trợ", "Machinery wanted", None, None, "yes",
     "selected(${ho_tro}, 'may_moc')"],
    ["end_group"],
    ["begin_group", "thiet_bi", "Thiết bị hiện có", "Equipment on site", None, None, None,
     "${so_lao_dong} > 0"],
    ["begin_repeat", "may", "Máy", "Machine"],
    ["text", "ten_may", "Tên máy", "Machine name", None, None, "yes"],
    ["select_one tinh_trang", "tinh_trang", "Tình trạng", "Condition", None, None, "yes"],
    ["text", "ly_do_hong", "Hỏng thế nào?", "What is broken?", None, None, None,
     "${tinh_trang} = 'hong'"],
    ["end_repeat"],
    ["end_group"],
    ["begin_group", "danh_gia", "Đánh giá", "Assessment"],
    ["select_one yes_no", "de_xuat", "Đề xuất hỗ trợ?", "Recommend support?", None, None, "yes"],
    ["text", "ghi_chu", "Ghi chú", "Notes", None, None, None, "not(${de_xuat} = 'yes')", None, None, None, "multiline"],
    ["geopoint", "vi_tri", "Vị trí", "Location"],
    ["image", "anh", "Ảnh cơ sở", "Photo of the facility", None, None, None, None, None, None, None, None, "max-pixels=1600"],
    ["end_group"],
]
CHOICES = [
    ["list_name", "name", f"label::{VI}", f"label::{EN}"],
    ["ho_tro", "dao_tao", "Đào tạo nghề", "Vocational training"],
    ["ho_tro", "may_moc", "Máy móc thiết bị", "Machinery"],
    ["ho_tro", "tu_van", "Tư vấn", "Consulting"],
    ["tinh_trang", "tot", "Tốt", "Good"],
    ["tinh_trang", "hong", "Hỏng", "Broken"],
    ["yes_no", "yes", "Có", "Yes"],
    ["yes_no", "no", "Không", "No"],
]
SETTINGS = [
    ["form_title", "form_id", "version", "default_language", "style"],
    ["Khảo sát cơ sở (mẫu Kobo)", "khuyen-cong", 2, VI, "pages"],
]

book = Workbook()
for index, (name, rows) in enumerate([("survey", SURVEY), ("choices", CHOICES), ("settings", SETTINGS)]):
    sheet = book.active if index == 0 else book.create_sheet()
    sheet.title = name
    for row in rows:
        sheet.append(row)
book.save(Path(__file__).with_name("kobo_style.xlsx"))
