//! What the fuzzer drives: any bytes, taken through everything an upload meets before the
//! database — the format sniffed, the file read row by row, the mapping suggested, every row
//! judged as a new contact against a catalog of every field type. None of it may panic, loop or
//! hold the whole file: a bad file is a message.
//!
//! The libFuzzer target is `app/fuzz/fuzz_targets/parse_and_map.rs` (`cargo fuzz`, see README,
//! "Tests"); the test suite runs the same function over a corpus of awkward files and a few
//! thousand deterministic mutations of them (`imports::tests::fuzzing`).

use std::io::Write;
use std::ops::ControlFlow;

use super::plan::{plan_create, Lookups};
use super::{mapping, parse};
use crate::fields::{FieldCatalog, FieldDef, FieldKind, FieldOption};

/// A catalog with a field of every type (a select with options), for the judgement of rows.
pub fn every_kind() -> FieldCatalog {
    let fields = FieldKind::ALL
        .iter()
        .enumerate()
        .map(|(i, kind)| FieldDef {
            id: i as i64 + 1,
            key: format!("f{i}"),
            label: kind.label().to_owned(),
            kind: *kind,
            decimals: 2,
            unique: kind.can_be_unique() && i % 2 == 0,
            options: match kind.has_options() {
                true => vec![
                    FieldOption {
                        id: 100 + i as i64,
                        label: "Grün".into(),
                        color: "#16a34a".into(),
                        retired: false,
                    },
                    FieldOption {
                        id: 200 + i as i64,
                        label: "Alt".into(),
                        color: "#64748b".into(),
                        retired: true,
                    },
                ],
                false => Vec::new(),
            },
            ..FieldDef::default()
        })
        .collect();
    FieldCatalog { sections: Vec::new(), fields }
}

/// Takes `data` as an uploaded file through reading, mapping and judging. Returns how many rows
/// were judged; a file that cannot be read is `None`.
pub fn parse_and_map(data: &[u8], dir: &std::path::Path) -> Option<usize> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("fuzz-{}-{n}.data", std::process::id()));
    std::fs::File::create(&path).and_then(|mut f| f.write_all(data)).ok()?;
    let judged = judge(&path);
    let _ = std::fs::remove_file(&path);
    judged
}

fn judge(path: &std::path::Path) -> Option<usize> {
    let catalog = every_kind();
    let (mut settings, _) = mapping::first_settings(path, &catalog.fields).ok()?;
    // Every column to some target, so that every reading of a cell is tried.
    let targets = super::targets(&catalog);
    for (i, target) in settings.mapping.iter_mut().enumerate() {
        if *target == super::ColumnTarget::Ignore {
            *target = super::ColumnTarget::from_value(&targets[i % targets.len()].0);
        }
    }
    let lookups = Lookups {
        catalog,
        choices: crate::contacts::Choices::default(),
        staff: vec![(1, "ana@example.com".into(), "ana".into())],
        clock: crate::clock::Clock::default(),
    };
    let mut judged = 0usize;
    let read = parse::read_rows::<parse::FileError>(path, &settings.format.clone(), |row| {
        let _ = plan_create(&row, &settings, &lookups);
        judged += 1;
        // The fuzzer's files are small; a cap keeps a pathological one from taking all night.
        Ok(if judged >= 10_000 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    });
    read.ok().map(|()| judged)
}
