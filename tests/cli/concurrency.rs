//! Several firstseen processes on one archive at once: four writers
//! archiving overlapping batches and two readers checking and listing,
//! all started together. None may fail, none may see "database is
//! locked", no writer may remove another's temporary files, and the
//! archive must verify clean with every file recorded once.

use std::process::{Child, Command, Stdio};

use crate::util::{TestArchive, make_pictures, sample};

fn spawn(t: &TestArchive, args: &[String]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("firstseen"))
        .arg("--archive")
        .arg(t.dir())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn four_writers_and_two_readers_do_not_interfere() {
    let t = TestArchive::new();
    // The archive exists before the race starts (readers need one).
    let seed = sample("pillow-hopper.jpg");
    t.json(["archive".as_ref(), seed.as_os_str()], 0);
    let pics = make_pictures(&t.scratch(), 32);
    let names: Vec<String> = pics.iter().map(|p| p.display().to_string()).collect();
    let mut children = Vec::new();
    for w in 0..4 {
        // Overlapping batches: each picture is archived by two writers.
        let mut args = vec![
            "archive".to_string(),
            "--source".into(),
            format!("https://w{w}.example/"),
        ];
        args.extend(
            names
                .iter()
                .skip(w * 8)
                .chain(names.iter())
                .take(16)
                .cloned(),
        );
        children.push(("writer", spawn(&t, &args)));
        // Staggered, so later writers open the archive while earlier
        // ones are mid-write.
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    for _ in 0..2 {
        let mut args = vec!["check".to_string()];
        args.extend(names.iter().take(12).cloned());
        children.push(("reader", spawn(&t, &args)));
        children.push((
            "reader",
            spawn(&t, &["log".to_string(), "-n".into(), "50".into()]),
        ));
    }
    let mut failures = Vec::new();
    for (role, child) in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        // A reader may rightly find some pictures not archived yet (1).
        let ok = match role {
            "writer" => out.status.code() == Some(0),
            _ => matches!(out.status.code(), Some(0 | 1)),
        };
        if !ok || err.contains("locked") || err.contains("No such file") {
            failures.push(format!("{role}: {:?}: {err}", out.status.code()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let v = t.json(["verify"], 0);
    assert_eq!(v["problems"], serde_json::json!([]), "{v:#}");
    let status = t.json(["status"], 0);
    assert_eq!(status["status"]["items"], 33, "{status:#}");
    assert_eq!(t.object_count(), 33);
}
