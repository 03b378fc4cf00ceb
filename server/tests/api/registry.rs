//! The registry intake template as the office downloads it: the columns the
//! intake reads, for supervisors and administrators only.

use crate::helpers::TestApp;
use app::office::registry::rows::{check_rows, COLUMNS};
use app::office::sheet::{read, Legacy};

async fn the_intake_template_downloads_and_reads_back_as_the_intakes_columns(app: TestApp) {
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    for who in ["giamsat", "quantri"] {
        let (cookie, _) = app.login(who).await;
        let r = app.get("/api/registry/template.xlsx", Some(&cookie)).await;
        assert_eq!(r.status, 200, "{who}: {}", r.text());
        assert_eq!(r.headers["content-type"], XLSX);
        assert!(r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("khaosat-mau-dang-ky.xlsx"));
        let table = read(&r.body, 1 << 20, 10, Legacy::None).unwrap();
        let headers: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(table.header, headers);
        assert_eq!(check_rows(&table).1[0].code, "registry.no_rows");
    }
    let (inspector, _) = app.login("ksv1").await;
    let r = app
        .get("/api/registry/template.xlsx", Some(&inspector))
        .await;
    assert_eq!(r.status, 403);
    let r = app.get("/api/registry/template.xlsx", None).await;
    assert_eq!(r.status, 401);
}

crate::engine_tests!(the_intake_template_downloads_and_reads_back_as_the_intakes_columns);
