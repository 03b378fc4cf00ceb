//! Where the office may place a facility: the units of a tree it can choose
//! from, and the trees themselves, from the unit list the page loaded.

use crate::model::{AdminUnit, UnitLevel};

/// The units a facility of `tree` may be placed in, for a facility placed in
/// `current`: the tree's communes, or its districts where the tree has no
/// communes, with their parents' names. A facility an inspector found on site
/// may know only its district; that district stays a choice (first, labelled
/// with `no_commune`), so the office can edit the facility without having to
/// invent its commune.
pub(super) fn placeable(
    units: &[AdminUnit],
    tree: &str,
    current: &str,
    no_commune: &str,
) -> Vec<(String, String)> {
    let mut choices = communes_or_districts(units, tree);
    if !current.is_empty() && !choices.iter().any(|(key, _)| key == current) {
        if let Some(u) = units
            .iter()
            .find(|u| u.tree == tree && u.key() == current && u.level == UnitLevel::District)
        {
            let label = format!("{} ({}) — {no_commune}", u.full_name(), u.code);
            choices.insert(0, (u.key(), label));
        }
    }
    choices
}

pub(super) fn communes_or_districts(units: &[AdminUnit], tree: &str) -> Vec<(String, String)> {
    let of_tree: Vec<&AdminUnit> = units.iter().filter(|u| u.tree == tree).collect();
    let has_communes = of_tree.iter().any(|u| u.level == UnitLevel::Commune);
    let parent = |u: &AdminUnit| {
        u.parent.as_ref().and_then(|p| {
            of_tree
                .iter()
                .find(|x| &x.code == p && x.level == UnitLevel::District)
                .map(|x| format!(" — {}", x.full_name()))
        })
    };
    of_tree
        .iter()
        .filter(|u| {
            u.level
                == if has_communes {
                    UnitLevel::Commune
                } else {
                    UnitLevel::District
                }
        })
        .map(|u| {
            (
                u.key(),
                format!(
                    "{}{} ({})",
                    u.full_name(),
                    parent(u).unwrap_or_default(),
                    u.code
                ),
            )
        })
        .collect()
}

pub(super) fn trees(units: &[AdminUnit]) -> Vec<String> {
    let mut t: Vec<String> = units.iter().map(|u| u.tree.clone()).collect();
    t.sort();
    t.dedup();
    t.reverse();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, level: UnitLevel, parent: Option<&str>) -> AdminUnit {
        AdminUnit {
            tree: "bac-giang-2020".into(),
            code: code.into(),
            name: format!("Đơn vị {code}"),
            kind: if level == UnitLevel::District {
                "thành phố"
            } else {
                "xã"
            }
            .into(),
            level,
            parent: parent.map(str::to_string),
        }
    }

    fn units() -> Vec<AdminUnit> {
        vec![
            unit("24", UnitLevel::Province, None),
            unit("213", UnitLevel::District, Some("24")),
            unit("07201", UnitLevel::Commune, Some("213")),
            unit("07204", UnitLevel::Commune, Some("213")),
        ]
    }

    #[test]
    fn a_tree_with_communes_offers_its_communes() {
        let keys: Vec<String> = placeable(&units(), "bac-giang-2020", "", "?")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["bac-giang-2020/07201", "bac-giang-2020/07204"]);
    }

    #[test]
    fn a_facility_known_only_by_its_district_keeps_that_district_as_a_choice() {
        let choices = placeable(
            &units(),
            "bac-giang-2020",
            "bac-giang-2020/213",
            "chưa rõ xã/phường",
        );
        assert_eq!(choices.len(), 3);
        assert_eq!(choices[0].0, "bac-giang-2020/213");
        assert!(
            choices[0].1.ends_with("(213) — chưa rõ xã/phường"),
            "{}",
            choices[0].1
        );
        // A commune already listed is not repeated, and another tree's unit
        // or a unit that does not exist adds nothing.
        assert_eq!(
            placeable(&units(), "bac-giang-2020", "bac-giang-2020/07204", "?").len(),
            2
        );
        assert_eq!(
            placeable(&units(), "bac-ninh-2025", "bac-giang-2020/213", "?").len(),
            0
        );
        assert_eq!(
            placeable(&units(), "bac-giang-2020", "bac-giang-2020/999", "?").len(),
            2
        );
    }

    #[test]
    fn a_tree_without_communes_offers_its_districts() {
        let units: Vec<AdminUnit> = units()
            .into_iter()
            .filter(|u| u.level != UnitLevel::Commune)
            .collect();
        let keys: Vec<String> = placeable(&units, "bac-giang-2020", "", "?")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["bac-giang-2020/213"]);
        assert_eq!(trees(&units), ["bac-giang-2020"]);
    }
}
