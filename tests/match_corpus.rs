//! Match quality over the whole corpus (`../shared/corpus/photos`, or
//! `$FIRSTSEEN_SHARED/corpus/photos`), when it is present: the hardest
//! edits of the bench (70% crop, 5° rotation, banner, phone screenshots)
//! of every photo are found and never attributed to another photo, and
//! edits of photos that are not archived match nothing. Fails if recall
//! or the false-match count regresses; prints SKIPPED without the corpus.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use firstseen::hash::Sha256;
use firstseen::matching::Matcher;
use firstseen::pipeline::{
    self, ArchiveOptions, ArchiveOutcome, CheckOutcome, NoProgress, Options,
};
use firstseen::store::Archive;
use image::RgbImage;

#[path = "../bench/edits.rs"]
mod edits;

fn corpus() -> Option<PathBuf> {
    let root = std::env::var_os("FIRSTSEEN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let photos = root.join("corpus/photos");
    photos.is_dir().then_some(photos)
}

/// The edits measured here: the bench's hardest.
const HARD: &[&str] = &[
    "centre crop 70% of area",
    "rotate 5° (canvas kept)",
    "text banner, bottom 15%",
    "phone screenshot",
    "dark-mode screenshot, small",
];

#[test]
fn hard_edits_of_corpus_photos_are_found_and_never_misattributed() {
    let Some(dir) = corpus() else {
        println!("SKIPPED: ../shared/corpus/photos not found (set FIRSTSEEN_SHARED)");
        return;
    };
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    photos.sort();
    assert!(photos.len() >= 20, "corpus has {} photos", photos.len());
    let images: Vec<RgbImage> = photos
        .iter()
        .map(|p| image::open(p).unwrap().to_rgb8())
        .collect();
    // The first two thirds are archived; edits of the rest must match
    // nothing.
    let archived = photos.len() * 2 / 3;
    let tmp = tempfile::tempdir().unwrap();
    let mut archive = Archive::create(&tmp.path().join("a")).unwrap();
    let stop = AtomicBool::new(false);
    let mut shas: Vec<Sha256> = Vec::new();
    let mut matcher = Matcher::open(&archive.catalog, Some(archive.dir()), &mut |_, _| {}).unwrap();
    pipeline::archive(
        &mut archive,
        &mut matcher,
        &photos[..archived],
        &ArchiveOptions::default(),
        &NoProgress,
        &stop,
        &mut |o| {
            if let ArchiveOutcome::Archived { sha256, .. } = o {
                shas.push(*sha256);
            }
        },
    )
    .unwrap();
    assert_eq!(shas.len(), archived);

    let all = edits::all();
    let mut files = Vec::new();
    let mut expect = Vec::new();
    for (e, name) in HARD.iter().enumerate() {
        let f = all.iter().find(|(n, _)| n == name).unwrap().1;
        for (i, img) in images.iter().enumerate() {
            let path = tmp.path().join(format!("e{e}-{i}.jpg"));
            std::fs::write(&path, edits::jpeg_bytes(&f(img, &images, i), 90)).unwrap();
            files.push(path);
            expect.push((e, (i < archived).then(|| shas[i])));
        }
    }
    let mut found = vec![0usize; HARD.len()];
    let mut copies = vec![0usize; HARD.len()];
    let mut wrong = Vec::new();
    let mut k = 0;
    pipeline::check(
        &archive,
        &matcher,
        &files,
        &Options::default(),
        &NoProgress,
        &stop,
        &mut |o| {
            let (e, want) = expect[k];
            k += 1;
            let CheckOutcome::Checked { path, matches, .. } = o else {
                panic!("check failed: {o:?}");
            };
            if want.is_some() {
                copies[e] += 1;
            }
            for m in matches {
                if Some(m.item.sha256) == want {
                    found[e] += 1;
                } else {
                    wrong.push(format!(
                        "{}: {} → {}",
                        HARD[e],
                        path.display(),
                        m.item.sha256
                    ));
                }
            }
        },
    )
    .unwrap();
    for (e, name) in HARD.iter().enumerate() {
        println!("{name}: {} of {} found", found[e], copies[e]);
    }
    assert!(wrong.is_empty(), "false matches: {wrong:#?}");
    for (e, name) in HARD.iter().enumerate() {
        assert!(
            found[e] * 10 >= copies[e] * 9,
            "{name}: only {} of {} found",
            found[e],
            copies[e]
        );
    }
}
