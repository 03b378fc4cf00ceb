//! The accounts screen's pure helpers.

use super::*;
use crate::model::UnitLevel;

fn unit(code: &str, level: UnitLevel, parent: Option<&str>) -> AdminUnit {
    AdminUnit {
        tree: String::new(),
        code: code.into(),
        name: code.into(),
        kind: "x".into(),
        level,
        parent: parent.map(str::to_string),
    }
}

#[test]
fn units_are_listed_as_a_tree_whatever_the_order_they_came_in() {
    let units = vec![
        unit("07210", UnitLevel::Commune, Some("213")),
        unit("215", UnitLevel::District, Some("24")),
        unit("213", UnitLevel::District, Some("24")),
        unit("24", UnitLevel::Province, None),
    ];
    let order: Vec<(usize, String)> = tree_order(&units)
        .into_iter()
        .map(|(d, u)| (d, u.code))
        .collect();
    assert_eq!(
        order,
        vec![
            (0, "24".to_string()),
            (1, "215".to_string()),
            (1, "213".to_string()),
            (2, "07210".to_string()),
        ]
    );
}

#[test]
fn a_unit_whose_parent_is_not_listed_is_a_root() {
    let units = vec![unit("213", UnitLevel::District, Some("24"))];
    assert_eq!(tree_order(&units).len(), 1);
}

#[test]
fn an_empty_phone_box_means_no_phone() {
    assert_eq!(optional("  "), None);
    assert_eq!(optional(" 0912 345 678 "), Some("0912 345 678".into()));
}
