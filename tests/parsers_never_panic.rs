//! Parsers meet bad input with errors, never panics: arbitrary text and damaged copies of real
//! configs, profiles and inventories.

use std::path::Path;

use jieneng::config::profile::parse_profile;
use jieneng::site::Site;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../deploy/examples/jieneng.toml");
const PROFILE: &str = include_str!("../devices/acrel-adl400.toml");

/// The text with one span cut out and another string spliced in.
fn damaged(text: &'static str) -> impl Strategy<Value = String> {
    (0..text.len(), 0..40usize, "[\\PC]{0,12}").prop_map(move |(at, cut, insert)| {
        let mut s = text.to_string();
        let start = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + cut).min(s.len());
        let end = (end..=s.len())
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(s.len());
        s.replace_range(start..end, &insert);
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn site_config_parser_never_panics(text in damaged(EXAMPLE)) {
        let _ = Site::from_str(Path::new("damaged.toml"), &text);
    }

    #[test]
    fn site_config_parser_survives_noise(text in "\\PC{0,300}") {
        let _ = Site::from_str(Path::new("noise.toml"), &text);
    }

    #[test]
    fn profile_parser_never_panics(text in damaged(PROFILE)) {
        if let Err(errors) = parse_profile("p", Path::new("p.toml"), &text) {
            for e in errors.0 {
                prop_assert!(e.line >= 1);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn inventory_rows_never_panic(row in "[\\PC]{0,80}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.csv"), format!("id,name,unit,category,profile,connection,slave_id,multiplier\n{row}\n")).unwrap();
        let config = "[site]\nname = \"x\"\nmeters_csv = [\"m.csv\"]\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n";
        std::fs::write(dir.path().join("j.toml"), config).unwrap();
        let _ = Site::load(&dir.path().join("j.toml"));
    }
}
