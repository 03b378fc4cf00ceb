//! What each XLSForm problem says, in Vietnamese and English. These texts live
//! here rather than in the locale files because only the server words them:
//! the locale files are compiled into the phone's bundle.

use crate::forms::Text;
use std::collections::BTreeMap;

fn pair(code: &str) -> (&'static str, &'static str) {
    match code {
        "xlsform.too_large" => ("Tệp lớn hơn {limit} MB.", "The file is larger than {limit} MB."),
        "xlsform.too_many_rows" => ("Một trang tính có hơn {limit} dòng.", "A sheet has more than {limit} rows."),
        "xlsform.expands" => ("Tệp giải nén ra hơn {limit} MB; đây không phải bảng tính bình thường.", "The file expands to more than {limit} MB; it is not an ordinary spreadsheet."),
        // The detail is the reader's, in English: the Vietnamese text goes without it.
        "xlsform.unreadable" => ("Không đọc được tệp như một bảng tính XLSX. Hãy mở tệp bằng Excel và lưu lại dưới dạng Sổ làm việc Excel (.xlsx).", "The file cannot be read as an XLSX workbook ({detail}). Save it from Excel as .xlsx."),
        "xlsform.no_survey" => ("Tệp không có trang tính “survey”: đây không phải một XLSForm.", "The file has no “survey” sheet: it is not an XLSForm."),
        "xlsform.no_form_id" => ("Thiếu form_id: thêm trang tính “settings” có cột form_id (ví dụ khuyen_cong).", "form_id is missing: add a “settings” sheet with a form_id column (e.g. khuyen_cong)."),
        "xlsform.version" => ("Phiên bản “{value}” phải là số nguyên từ 1 trở lên, lớn hơn phiên bản đã phát hành.", "Version “{value}” must be a whole number of 1 or more, above the published one."),
        "xlsform.language" => ("Ngôn ngữ “{language}” không được hiển thị: khảo sát hiển thị tiếng Việt (vi) và tiếng Anh (en). Xoá cột này hoặc đổi tên thành label::Tiếng Việt (vi) hoặc label::English (en).", "Language “{language}” is never shown: khaosat shows Vietnamese (vi) and English (en). Delete this column or rename it to label::Tiếng Việt (vi) or label::English (en)."),
        "xlsform.setting_ignored" => ("Thiết lập {setting} = “{value}” không dùng trong khảo sát và được bỏ qua.", "Setting {setting} = “{value}” has no use in khaosat and is left out."),
        "xlsform.choice_no_list" => ("Lựa chọn thiếu list_name.", "The choice has no list_name."),
        "xlsform.choice_name" => ("Tên lựa chọn “{value}” không hợp lệ: cần có, không chứa dấu cách hay dấu nháy.", "Choice name “{value}” is not valid: it must be given, without spaces or quotes."),
        "xlsform.no_label" => ("“{name}” thiếu nhãn (label).", "“{name}” has no label."),
        "xlsform.name_twice" => ("Tên “{name}” đã dùng ở dòng {first}; mỗi câu hỏi, nhóm và lặp cần một tên riêng.", "The name “{name}” is already used on row {first}; every question, group and repeat needs its own name."),
        "xlsform.choice_twice" => ("Lựa chọn “{value}” xuất hiện hai lần trong danh sách {list}.", "Choice “{value}” appears twice in list {list}."),
        "xlsform.column" => ("Cột “{column}” không được hỗ trợ; xoá cột hoặc để trống.", "Column “{column}” is not supported; delete it or leave it empty."),
        "xlsform.column.calculation" => ("Khảo sát không tự tính câu trả lời (calculation): hãy hỏi trực tiếp giá trị, hoặc tính khi xuất dữ liệu.", "khaosat does not compute answers (calculation): ask for the value, or compute it in the export."),
        "xlsform.column.choice_filter" => ("Không hỗ trợ lọc lựa chọn (choice_filter): dùng các câu chọn riêng với điều kiện hiển thị (relevant).", "Filtered choices (choice_filter) are not supported: use separate select questions with relevant."),
        "xlsform.column.repeat_count" => ("Không hỗ trợ số dòng cố định (repeat_count): người khảo sát tự thêm dòng; đặt giới hạn bằng cột bind::khaosat:max_rows.", "A fixed row count (repeat_count) is not supported: the inspector adds rows; set an upper limit with bind::khaosat:max_rows."),
        "xlsform.column.default" => ("Không hỗ trợ giá trị mặc định (default): mọi câu trả lời bắt đầu trống.", "Default answers (default) are not supported: every answer starts empty."),
        "xlsform.column.read_only" => ("Không hỗ trợ câu chỉ đọc (read_only): dùng kiểu note để hiển thị thông tin.", "Read-only questions (read_only) are not supported: use a note to show information."),
        "xlsform.column.trigger" => ("Không hỗ trợ trigger: khảo sát không tính lại câu trả lời.", "trigger is not supported: khaosat does not recompute answers."),
        "xlsform.column.guidance_hint" => ("Không hỗ trợ guidance_hint: đưa nội dung vào cột hint.", "guidance_hint is not supported: put the text in the hint column."),
        "xlsform.no_type" => ("Dòng có nội dung nhưng thiếu kiểu (type).", "The row has content but no type."),
        "xlsform.group_in_repeat" => ("Nhóm “{name}” nằm trong một nhóm lặp: khảo sát không có nhóm con trong nhóm lặp; bỏ begin/end group này.", "Group “{name}” is inside a repeat: khaosat has no groups inside repeats; remove this begin/end group."),
        "xlsform.group_in_group" => ("Nhóm “{name}” nằm trong một nhóm khác: khảo sát chỉ có một cấp mục; tách thành nhóm riêng.", "Group “{name}” is inside another group: khaosat has one level of sections; make it a group of its own."),
        "xlsform.no_name" => ("Thiếu tên (name).", "The name is missing."),
        "xlsform.unmatched_end" => ("“{what}” không có dòng begin tương ứng.", "“{what}” has no matching begin."),
        "xlsform.repeat_in_repeat" => ("Nhóm lặp “{name}” nằm trong một nhóm lặp khác: khảo sát không hỗ trợ nhóm lặp lồng nhau.", "Repeat “{name}” is inside another repeat: khaosat has no nested repeats."),
        "xlsform.metadata" => ("Câu “{type}” được bỏ qua: khảo sát tự ghi thời điểm, thiết bị và người khảo sát.", "“{type}” is left out: khaosat records the time, device and inspector by itself."),
        "xlsform.photo_in_repeat" => ("Ảnh “{name}” nằm trong nhóm lặp: ảnh phải ở ngoài nhóm lặp.", "Photo “{name}” is inside a repeat: photos must be outside repeats."),
        "xlsform.unclosed" => ("“{what} {name}” không có dòng end tương ứng.", "“{what} {name}” is never closed."),
        "xlsform.unknown_list" => ("Không có danh sách lựa chọn “{list}” trong trang choices.", "There is no choice list “{list}” on the choices sheet."),
        "xlsform.yes_no_list" => ("bind::khaosat:yes_no cần danh sách {list} có đúng hai lựa chọn yes và no.", "bind::khaosat:yes_no needs list {list} to hold exactly the choices yes and no."),
        "xlsform.type.or_other" => ("“{type}”: or_other không được hỗ trợ; thêm lựa chọn “other” và một câu text với relevant.", "“{type}”: or_other is not supported; add an “other” choice and a text question with relevant."),
        "xlsform.type.calculate" => ("Kiểu calculate không được hỗ trợ: khảo sát không tự tính câu trả lời.", "Type calculate is not supported: khaosat does not compute answers."),
        "xlsform.type.hidden" => ("Kiểu hidden không được hỗ trợ: mọi câu đều hiện cho người khảo sát.", "Type hidden is not supported: every question is shown to the inspector."),
        "xlsform.type.acknowledge" => ("Kiểu acknowledge không được hỗ trợ: dùng select_one yes_no với bind::khaosat:yes_no = yes.", "Type acknowledge is not supported: use select_one yes_no with bind::khaosat:yes_no = yes."),
        "xlsform.type.time" => ("Kiểu time không được hỗ trợ: dùng text.", "Type time is not supported: use text."),
        "xlsform.type.datetime" => ("Kiểu dateTime không được hỗ trợ: dùng date.", "Type dateTime is not supported: use date."),
        "xlsform.type.range" => ("Kiểu range không được hỗ trợ: dùng integer với constraint . >= a and . <= b.", "Type range is not supported: use integer with constraint . >= a and . <= b."),
        "xlsform.type.geotrace" | "xlsform.type.geoshape" => ("Kiểu {type} không được hỗ trợ: dùng geopoint.", "Type {type} is not supported: use geopoint."),
        "xlsform.type.barcode" => ("Kiểu barcode không được hỗ trợ: dùng text.", "Type barcode is not supported: use text."),
        "xlsform.type.audio" | "xlsform.type.video" | "xlsform.type.file" => ("Kiểu {type} không được hỗ trợ: khảo sát chỉ nhận ảnh (image).", "Type {type} is not supported: khaosat takes photos (image) only."),
        "xlsform.type.select_one_from_file" | "xlsform.type.select_multiple_from_file" => ("“{type}”: lựa chọn từ tệp ngoài không được hỗ trợ; đưa các lựa chọn vào trang choices.", "“{type}”: choices from an external file are not supported; put the choices on the choices sheet."),
        "xlsform.type.rank" => ("Kiểu rank không được hỗ trợ: dùng select_multiple.", "Type rank is not supported: use select_multiple."),
        "xlsform.type" => ("Kiểu “{type}” không được hỗ trợ. Các kiểu dùng được: text, integer, decimal, date, select_one, select_multiple, geopoint, image, note, begin/end group, begin/end repeat.", "Type “{type}” is not supported. Supported: text, integer, decimal, date, select_one, select_multiple, geopoint, image, note, begin/end group, begin/end repeat."),
        "xlsform.marker" => ("{marker} chỉ dùng với kiểu {type}.", "{marker} applies only to type {type}."),
        "xlsform.bad_name" => ("Tên “{name}” không hợp lệ: chỉ dùng chữ thường không dấu, số và dấu gạch dưới, không bắt đầu bằng số (ví dụ {offer}).", "Name “{name}” is not valid: use lower-case ASCII letters, digits and underscores, not starting with a digit (e.g. {offer})."),
        "xlsform.reserved_row_name" => ("Tên “{name}” trong nhóm lặp được dành cho phần đầu mỗi dòng; hãy đặt tên khác.", "Name “{name}” inside a repeat is reserved for each row's header; choose another."),
        "xlsform.reserved_name" => ("Tên “{name}” được dành cho phần đầu phiếu; hãy đặt tên khác.", "Name “{name}” is reserved for the visit header; choose another."),
        "xlsform.required" => ("required = “{value}” không được hỗ trợ: chỉ yes hoặc no. Câu bắt buộc có điều kiện: dùng relevant.", "required = “{value}” is not supported: only yes or no. For a conditional requirement, use relevant."),
        "xlsform.appearance" => ("Giao diện “{appearance}” thay đổi dữ liệu thu được và không được hỗ trợ; xoá nó.", "Appearance “{appearance}” changes what is collected and is not supported; remove it."),
        "xlsform.appearance_ignored" => ("Giao diện “{appearance}” chỉ đổi cách hiển thị trên ODK; điện thoại khảo sát hiển thị theo cách riêng.", "Appearance “{appearance}” only changes the look on ODK; khaosat's phone shows the question its own way."),
        "xlsform.parameters" => ("Tham số “{found}” không được hỗ trợ: chỉ có max-pixels=N cho kiểu image.", "Parameter “{found}” is not supported: only max-pixels=N on image."),
        "xlsform.max_rows" => ("bind::khaosat:max_rows = “{value}”: cần một số nguyên, và chỉ dùng ở begin repeat.", "bind::khaosat:max_rows = “{value}”: needs a whole number, on begin repeat only."),
        "xlsform.label_reference" => ("Cột {column} chèn câu trả lời bằng ${…}: khảo sát hiển thị chữ cố định; hãy viết chữ không có ${…}.", "Column {column} pulls in an answer with ${…}: khaosat shows fixed text; write it without ${…}."),
        "xlsform.definition" => ("Biểu mẫu không hợp lệ: {detail}", "The form is not valid: {detail}"),
        "xlsform.xpath_syntax" => ("Không đọc được điều kiện gần “{found}”.", "The condition cannot be read near “{found}”."),
        "xlsform.xpath_path" => ("Đường dẫn XPath (“{found}”) không được hỗ trợ: gọi câu hỏi bằng ${tên}.", "XPath paths (“{found}”) are not supported: name a question as ${name}."),
        "xlsform.xpath_arithmetic" => ("Phép tính “{found}” không được hỗ trợ trong điều kiện: chỉ so sánh (=, !=, <, <=, >, >=), and, or, not() và selected().", "Arithmetic “{found}” is not supported in conditions: only comparisons (=, !=, <, <=, >, >=), and, or, not() and selected()."),
        "xlsform.xpath_function" => ("Hàm {found} không được hỗ trợ: chỉ có not(), selected(), true() và false().", "Function {found} is not supported: only not(), selected(), true() and false()."),
        "xlsform.xpath_word" => ("“{found}” không được hỗ trợ trong điều kiện.", "“{found}” is not supported in conditions."),
        "xlsform.xpath_dot" => ("Dấu “.” chỉ dùng trong constraint; trong relevant hãy gọi câu hỏi bằng ${tên}.", "“.” belongs in constraints; in relevant, name the question as ${name}."),
        "xlsform.xpath_quote" => ("Giá trị “{found}” chứa dấu nháy đơn, không dùng được trong điều kiện.", "Value “{found}” holds a single quote, which a condition cannot hold."),
        "xlsform.xpath_chain" => ("Hai phép so sánh liền nhau (… {found} …): tách bằng and hoặc or.", "Two comparisons in a row (… {found} …): join them with and or or."),
        "xlsform.xpath_selected" => ("selected() cần một câu hỏi và một giá trị: selected(${câu_hỏi}, 'giá_trị').", "selected() takes a question and a value: selected(${question}, 'value')."),
        "xlsform.xpath_too_long" => ("Điều kiện quá dài ({found} phần); hãy rút gọn.", "The condition is too long ({found} parts); simplify it."),
        "xlsform.xpath_too_deep" => ("Điều kiện lồng quá {found} cấp; hãy rút gọn.", "The condition nests more than {found} levels; simplify it."),
        "xlsform.unknown_field" => ("Điều kiện gọi ${{found}}, không có câu hỏi nào tên như vậy.", "The condition names ${{found}}, which is no question of this form."),
        "xlsform.field_out_of_scope" => ("Điều kiện gọi ${{found}} ở nơi khác: trong nhóm lặp chỉ dùng câu hỏi của cùng nhóm lặp, ngoài nhóm lặp không dùng câu hỏi bên trong nó.", "The condition names ${{found}} from elsewhere: inside a repeat use only that repeat's questions; outside, none of a repeat's."),
        "xlsform.compare_multiple" => ("${{found}} là câu chọn nhiều: dùng selected(${{found}}, 'giá_trị') thay cho = hoặc !=.", "${{found}} is a multiple choice: use selected(${{found}}, 'value') instead of = or !=."),
        "xlsform.bare_field" => ("Điều kiện chỉ gồm ${{found}}: hãy viết rõ giá trị, ví dụ ${{found}} = 'yes' (ODK coi mọi câu trả lời, kể cả “no”, là đúng).", "The condition is ${{found}} alone: write the value out, e.g. ${{found}} = 'yes' (ODK takes any answer, “no” too, as true)."),
        "xlsform.selected_not_choice" => ("selected() chỉ dùng với câu chọn; ${{found}} không phải câu chọn.", "selected() applies to select questions; ${{found}} is not one."),
        "xlsform.constraint_bound" => ("“{found}”: giới hạn số phải là . >= n hoặc . <= n (với số nguyên có thể dùng > và <).", "“{found}”: a number's limit must be . >= n or . <= n (> and < on whole numbers)."),
        "xlsform.length_too_large" => ("“{found}”: một câu trả lời chữ dài nhiều nhất 100.000 ký tự.", "“{found}”: a text answer is at most 100,000 characters long."),
        "xlsform.constraint_shape" => ("Ràng buộc “{found}” không được hỗ trợ. Dùng được: . >= n, . <= n, string-length(.) <= n, regex(., 'mẫu'), nối bằng and.", "Constraint “{found}” is not supported. Supported: . >= n, . <= n, string-length(.) <= n, regex(., 'pattern'), joined by and."),
        "xlsform.constraint_type" => ("Ràng buộc “{found}” không hợp với kiểu câu hỏi: giới hạn số cho integer/decimal, độ dài và regex cho text.", "Constraint “{found}” does not suit the question's type: number limits on integer/decimal, length and regex on text."),
        "xlsform.constraint_twice" => ("Ràng buộc đặt “{found}” hai lần.", "The constraint sets “{found}” twice."),
        "xlsform.bad_regex" => ("Mẫu regex không hợp lệ: {found}", "The regex pattern is not valid: {found}"),
        _ => ("Lỗi {code}.", "Problem {code}."),
    }
}

/// The sentence for `code` with its parameters filled in.
pub fn text(code: &str, params: &BTreeMap<&str, &str>) -> Text {
    let (vi, en) = pair(code);
    let fill = |s: &str| {
        // `${{found}}` in a text is the parameter written as XLSForm names a
        // question: `${size}`.
        let mut out = s.replace("{code}", code);
        for (k, v) in params {
            out = out
                .replace(&format!("${{{{{k}}}}}"), &format!("${{{v}}}"))
                .replace(&format!("{{{k}}}"), v);
        }
        out
    };
    Text {
        vi: fill(vi),
        en: fill(en),
    }
}

#[cfg(test)]
mod tests {
    /// Every code the converter can produce has its own sentence in both
    /// languages (the fallback would show the administrator a code).
    #[test]
    fn every_problem_code_has_words() {
        let sources = [
            include_str!("convert.rs"),
            include_str!("read.rs"),
            include_str!("xpath.rs"),
            include_str!("mod.rs"),
        ];
        let mut seen = 0;
        for src in sources {
            for piece in src.split("\"xlsform.").skip(1) {
                let code: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                    .collect();
                if code.is_empty() || code.ends_with('.') {
                    continue;
                }
                let (vi, _) = super::pair(&format!("xlsform.{code}"));
                assert!(!vi.starts_with("Lỗi {code}"), "xlsform.{code} has no text");
                seen += 1;
            }
        }
        assert!(seen > 40, "only {seen} codes found");
        let t = super::text(
            "xlsform.unknown_field",
            &[("found", "size")].into_iter().collect(),
        );
        assert_eq!(
            t.en,
            "The condition names ${size}, which is no question of this form."
        );
    }
}
