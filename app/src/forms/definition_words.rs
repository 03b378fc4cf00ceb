//! What each refusal of a form definition says, in Vietnamese and English.
//! Only an administrator meets these, on the office's forms page, so they
//! live here, with the server, rather than in the locale files the phone's
//! bundle carries (as the XLSForm problems do). The body carries the
//! sentence of each language (`worded`); `i18n::error_text` fills it in.

/// The (Vietnamese, English) sentence of `reason`.
pub fn sentence(reason: &str) -> (&'static str, &'static str) {
    match reason {
        "json" => (
            "Tệp định nghĩa biểu mẫu không đọc được: {what_vi} (dòng {line}, cột {column}).",
            "The form definition cannot be read: {what_en} (line {line}, column {column}).",
        ),
        "no_id" => (
            "Biểu mẫu chưa có mã (id).",
            "The form has no id.",
        ),
        "version" => (
            "Phiên bản biểu mẫu phải từ 1 trở lên, không phải {version}.",
            "The form version must be 1 or more, not {version}.",
        ),
        "version_too_large" => (
            "Phiên bản biểu mẫu phải không quá {max}, không phải {version}.",
            "The form version must be at most {max}, not {version}.",
        ),
        "label_too_long" => (
            "Mục «{key}»: nhãn, gợi ý hoặc một lựa chọn dài quá {max} ký tự.",
            "Item «{key}»: a label, hint or choice is longer than {max} characters.",
        ),
        "length_range" => (
            "Mục «{key}»: độ dài chữ tối đa là {max}, không phải {value}.",
            "Item «{key}»: a text length can be at most {max}, not {value}.",
        ),
        "length_order" => (
            "Mục «{key}»: độ dài chữ ít nhất {min} lớn hơn độ dài nhiều nhất {max}.",
            "Item «{key}»: the shortest length {min} is greater than the longest {max}.",
        ),
        "row_header_key" => (
            "Tên «{key}» trong nhóm lặp «{group}» được dành cho phần đầu của mỗi dòng; hãy đặt tên khác.",
            "The name «{key}» in repeat group «{group}» is reserved for each row's header; choose another.",
        ),
        "key_format" => (
            "Tên mục «{key}» chỉ được gồm chữ thường không dấu, chữ số và dấu gạch dưới, không bắt đầu bằng chữ số.",
            "The item name «{key}» may hold only lowercase ASCII letters, digits and underscores, and may not start with a digit.",
        ),
        "reserved_key" => (
            "Tên mục «{key}» được dành cho phần đầu phiếu; hãy đặt tên khác.",
            "The item name «{key}» is reserved for the visit header; choose another.",
        ),
        "key_twice" => (
            "Tên mục «{key}» được dùng hai lần; mỗi mục cần một tên riêng.",
            "The item name «{key}» is used twice; every item needs its own name.",
        ),
        "no_choices" => (
            "Mục chọn «{key}» chưa có lựa chọn nào.",
            "The select item «{key}» has no choices.",
        ),
        "industry" => (
            "Mục «{key}» có lựa chọn «{value}», không phải mã nhóm ngành của sổ đăng ký: {groups_vi}.",
            "Item «{key}» offers «{value}», which is not an industry group code of the register: {groups_en}.",
        ),
        "empty_repeat" => (
            "Nhóm lặp «{key}» chưa có câu hỏi nào.",
            "The repeat group «{key}» has no questions.",
        ),
        "photo_in_repeat" => (
            "Mục ảnh «{photo}» nằm trong nhóm lặp «{key}»: ảnh phải ở ngoài nhóm lặp.",
            "The photo item «{photo}» is inside repeat group «{key}»: photos must be outside repeats.",
        ),
        "min_above_max" => (
            "Mục «{key}»: giá trị nhỏ nhất {min} lớn hơn giá trị lớn nhất {max}.",
            "Item «{key}»: the minimum {min} is greater than the maximum {max}.",
        ),
        "pattern_not_text" => (
            "Mục «{key}»: mẫu (pattern) chỉ dùng cho mục nhập chữ.",
            "Item «{key}»: a pattern applies only to text items.",
        ),
        "bad_pattern" => (
            "Mục «{key}»: mẫu (pattern) không hợp lệ.",
            "Item «{key}»: the pattern is not valid ({detail}).",
        ),
        "bad_relevant" => (
            "Mục «{key}»: không đọc được điều kiện hiển thị (relevant).",
            "Item «{key}»: the condition (relevant) cannot be read ({detail}).",
        ),
        "relevant_unknown_field" => (
            "Mục «{key}»: điều kiện hiển thị dùng «{field}», không phải một câu hỏi cùng chỗ (trong phiếu, hoặc trong cùng nhóm lặp).",
            "Item «{key}»: the condition uses «{field}», which is not a question where it is asked (on the visit, or in the same repeat group).",
        ),
        "max_rows_not_repeat" => (
            "Mục «{key}»: max_rows chỉ dùng cho nhóm lặp.",
            "Item «{key}»: max_rows applies only to repeat groups.",
        ),
        "max_rows_range" => (
            "Mục «{key}»: max_rows phải từ 1 đến {max}, không phải {value}.",
            "Item «{key}»: max_rows must be between 1 and {max}, not {value}.",
        ),
        "max_px_not_photo" => (
            "Mục «{key}»: max_px chỉ dùng cho mục ảnh.",
            "Item «{key}»: max_px applies only to photo items.",
        ),
        "max_px_range" => (
            "Mục «{key}»: max_px phải từ {min} đến {max}, không phải {value}.",
            "Item «{key}»: max_px must be between {min} and {max}, not {value}.",
        ),
        "unknown_key" => (
            "Trường «{name}» ở {at_vi} không thuộc định nghĩa biểu mẫu nên sẽ bị bỏ qua; hãy kiểm tra chính tả (ví dụ “required”, “hint”, “choices”).",
            "The field «{name}» in {at_en} is not part of a form definition, so it would be ignored; check its spelling (e.g. “required”, “hint”, “choices”).",
        ),
        _ => ("Biểu mẫu không hợp lệ: {detail}", "The form definition is invalid: {detail}"),
    }
}

/// Where an unknown key stands, in each language: an item's name, or the
/// form's header.
pub fn place(item: &str) -> (String, String) {
    if item.is_empty() {
        (
            "phần đầu biểu mẫu".to_string(),
            "the form's header".to_string(),
        )
    } else {
        (format!("mục «{item}»"), format!("item «{item}»"))
    }
}

/// What serde's English `detail` says, in Vietnamese and English: the ways a
/// definition written by hand usually goes wrong are named with the field or
/// value; any other error is a general sentence (the detail stays in English
/// for the log).
pub fn json_what(detail: &str) -> (String, String) {
    // serde quotes names and values in backticks: `title`.
    let quoted = |after: &str| -> Option<String> {
        let rest = detail.split_once(after)?.1;
        let rest = rest.strip_prefix('`')?;
        Some(rest.split('`').next()?.to_string())
    };
    let allowed = || {
        detail
            .split_once("expected one of ")
            .map(|(_, list)| {
                let list = list.split(" at line").next().unwrap_or(list);
                list.replace('`', "")
            })
            .unwrap_or_default()
    };
    if let Some(name) = quoted("missing field ") {
        (
            format!("thiếu trường «{name}»"),
            format!("the field «{name}» is missing"),
        )
    } else if let Some(name) = quoted("duplicate field ") {
        (
            format!("trường «{name}» được viết hai lần"),
            format!("the field «{name}» is written twice"),
        )
    } else if let Some(name) = quoted("unknown field ") {
        (
            format!(
                "không có trường nào tên «{name}» (các trường được dùng: {})",
                allowed()
            ),
            format!("there is no field «{name}» (the fields are: {})", allowed()),
        )
    } else if let Some(value) = quoted("unknown variant ") {
        (
            format!(
                "«{value}» không phải một giá trị được dùng ở đây (chọn một trong: {})",
                allowed()
            ),
            format!("«{value}» is not a value used here (one of: {})", allowed()),
        )
    } else if detail.starts_with("invalid type") || detail.starts_with("invalid value") {
        let expected = detail
            .split_once(", expected ")
            .map(|(_, e)| e.split(" at line").next().unwrap_or(e))
            .unwrap_or_default();
        let (vi, en) = kind_words(expected);
        (
            format!("một giá trị sai kiểu, ở đây cần {vi}"),
            format!("a value of the wrong kind, where {en} is needed"),
        )
    } else if detail.starts_with("EOF while parsing") {
        (
            "tệp dừng giữa chừng, thiếu phần cuối (dấu ngoặc hoặc dấu nháy chưa đóng)".to_string(),
            "the file stops before its end (a bracket or quote left open)".to_string(),
        )
    } else if detail.starts_with("expected")
        || detail.starts_with("trailing")
        || detail.starts_with("key must be")
        || detail.starts_with("control character")
        || detail.starts_with("invalid escape")
        || detail.starts_with("invalid number")
    {
        (
            "sai cú pháp JSON (thiếu hoặc thừa dấu phẩy, dấu ngoặc hay dấu nháy)".to_string(),
            "a JSON syntax error (a comma, bracket or quote missing or extra)".to_string(),
        )
    } else {
        (
            "nội dung không đúng dạng của một định nghĩa biểu mẫu".to_string(),
            "the content is not shaped like a form definition".to_string(),
        )
    }
}

/// The kind of value serde `expected` ("i32", "a boolean", "struct Text"),
/// in words an administrator reads, not Rust's.
fn kind_words(expected: &str) -> (&'static str, &'static str) {
    let first = expected.split_whitespace().next().unwrap_or("");
    match first {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "isize" | "usize" => {
            ("một số nguyên", "a whole number")
        }
        "f32" | "f64" => ("một số", "a number"),
        "struct" | "map" => ("một đối tượng { … }", "an object { … }"),
        "tuple" => ("một danh sách [ … ]", "a list [ … ]"),
        _ => match expected {
            "a string" | "a borrowed string" | "a character" => {
                ("chữ trong dấu nháy \"…\"", "text in quotes \"…\"")
            }
            "a boolean" => ("true hoặc false", "true or false"),
            "a sequence" => ("một danh sách [ … ]", "a list [ … ]"),
            "a map" => ("một đối tượng { … }", "an object { … }"),
            _ if expected.contains("integer") => ("một số nguyên", "a whole number"),
            _ if expected.contains("number") || expected.contains("float") => {
                ("một số", "a number")
            }
            _ => ("một kiểu giá trị khác", "another kind of value"),
        },
    }
}
