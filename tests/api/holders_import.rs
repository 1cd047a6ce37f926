//! `cpe-ledger import holders`: the certification body's registry, imported idempotently,
//! with every rejected row reported by line and field.

use entity::{cycles, holdings, professionals};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::db_test;
use crate::harness::{TestApp, failure_of, stdout_of};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

/// Writes a registry file into the app's data dir and imports it.
fn import(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let path = app.file(name);
    std::fs::write(&path, bytes).unwrap();
    stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]))
}

/// (professionals, holdings, cycles) row counts.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    let db = &app.state.db;
    (
        professionals::Entity::find().count(db).await.unwrap(),
        holdings::Entity::find().count(db).await.unwrap(),
        cycles::Entity::find().count(db).await.unwrap(),
    )
}

async fn professional_by_email(app: &TestApp, email: &str) -> professionals::Model {
    professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no professional with {email}"))
}

fn registry(rows: &[&str]) -> String {
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

const GOOD: [&str; 4] = [
    "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01",
    "cisa,20112233,hanako@example.jp,佐藤 花子,サトウ ハナコ,Hanako,2023-07-01,2024-01-01",
    "riss,000123,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2023-04-01,2023-04-01",
    "giac,GSEC-4711,alice@example.org,Alice Example,,Alice,2024/02/01,2024/02/01",
];

db_test! {
    async fn a_registry_imports_every_row_and_a_second_run_changes_nothing(app: TestApp) {
        let file = registry(&GOOD);
        let first = import(&app, "registry.csv", file.as_bytes());
        assert!(
            first.starts_with("4 rows: 4 inserted, 0 updated, 0 unchanged, 0 rejected"),
            "{first}"
        );
        assert_eq!(counts(&app).await, (4, 4, 4));

        let second = import(&app, "registry.csv", file.as_bytes());
        assert!(
            second.starts_with("4 rows: 0 inserted, 0 updated, 4 unchanged, 0 rejected"),
            "{second}"
        );
        assert_eq!(
            counts(&app).await,
            (4, 4, 4),
            "same rows after the second run on {:?}",
            app.backend
        );
        assert!(!app.file("registry.csv.rejected.csv").exists());

        let runs = entity::import_runs::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(runs, 2, "every run is recorded");
    }
}

db_test! {
    async fn bad_rows_are_reported_by_line_and_field_and_the_good_rows_are_still_imported(app: TestApp) {
        let file = registry(&[
            GOOD[0],
            "nope,555,x@example.jp,X,,,2024-01-01,2024-01-01",
            "cissp,777,y@example.jp,Y,,,2024-13-01,2024-01-01",
            "cissp,888,not-an-email,Z,,,2024-01-01,2024-01-01",
            GOOD[1],
            // The same holding twice: the second occurrence is refused.
            "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01",
            "cisa,999,w@example.jp,,,,2024-01-01,2024-01-01",
        ]);
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(
            out.starts_with("7 rows: 2 inserted, 0 updated, 0 unchanged, 5 rejected"),
            "{out}"
        );
        // The printed summary names each row's line and field.
        for expected in [
            "line 3: scheme: unknown scheme 'nope'",
            "line 4: certified_on: '2024-13-01' is not a date",
            "line 5: email: ",
            "line 7: registration_number: appears earlier in the same file",
            "line 8: legal_name: is empty",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in\n{out}");
        }
        assert_eq!(counts(&app).await, (2, 2, 2));

        let report = app.file("registry.csv.rejected.csv");
        let mut reader = csv::Reader::from_path(&report).unwrap();
        assert_eq!(
            reader.headers().unwrap(),
            vec!["line", "registration_number", "field", "message"]
        );
        let rows: Vec<(String, String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_owned(), r[1].to_owned(), r[2].to_owned())
            })
            .collect();
        let expected = [
            ("3", "555", "scheme"),
            ("4", "777", "certified_on"),
            ("5", "888", "email"),
            ("7", "123456", "registration_number"),
            ("8", "999", "legal_name"),
        ];
        let rows: Vec<(&str, &str, &str)> =
            rows.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
        assert_eq!(rows, expected);
    }
}

db_test! {
    async fn line_numbers_stay_right_across_blank_lines_and_cells_that_span_lines(app: TestApp) {
        let file = format!(
            "{HEADER}\n{}\n\n\"cissp\",\"2\",\"a@example.jp\",\"Two\nLines\",,,2024-01-01,2024-01-01\nnope,3,b@example.jp,B,,,2024-01-01,2024-01-01\n",
            GOOD[0]
        );
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(out.contains("line 6: scheme: unknown scheme 'nope'"), "{out}");
    }
}

db_test! {
    async fn a_shift_jis_registry_keeps_the_japanese_names(app: TestApp) {
        let text = registry(&[GOOD[0], GOOD[2]]).replace('\n', "\r\n");
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&bytes).is_err(), "the file really is Shift_JIS");
        let out = import(&app, "registry-sjis.csv", &bytes);
        assert!(out.starts_with("2 rows: 2 inserted"), "{out}");

        let taro = professional_by_email(&app, "taro@example.jp").await;
        assert_eq!(taro.legal_name, "山田 太郎");
        assert_eq!(taro.legal_name_kana.as_deref(), Some("ヤマダ タロウ"));
        let jiro = professional_by_email(&app, "jiro@example.jp").await;
        assert_eq!(jiro.legal_name, "鈴木 次郎");

        let again = import(&app, "registry-sjis.csv", &bytes);
        assert!(again.starts_with("2 rows: 0 inserted, 0 updated, 2 unchanged"), "{again}");
    }
}

db_test! {
    async fn a_utf8_registry_with_a_byte_order_mark_imports(app: TestApp) {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(registry(&[GOOD[0]]).as_bytes());
        let out = import(&app, "registry-bom.csv", &bytes);
        assert!(out.starts_with("1 rows: 1 inserted"), "{out}");
    }
}

db_test! {
    async fn one_email_with_two_schemes_becomes_one_professional_with_two_holdings(app: TestApp) {
        // Domains are case-insensitive; the second row spells it differently.
        let file = registry(&[
            "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01",
            "cisa,20112233,taro@Example.JP,山田 太郎,ヤマダ タロウ,Taro,2023-07-01,2024-01-01",
        ]);
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(out.starts_with("2 rows: 2 inserted"), "{out}");
        assert_eq!(counts(&app).await, (1, 2, 2));
        let taro = professional_by_email(&app, "taro@example.jp").await;
        let held: Vec<String> = holdings::Entity::find()
            .filter(holdings::Column::ProfessionalId.eq(taro.id))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.scheme_id)
            .collect();
        assert_eq!(held.len(), 2);
        assert!(held.contains(&"cissp".to_owned()) && held.contains(&"cisa".to_owned()));
    }
}

db_test! {
    async fn a_changed_name_on_a_later_run_counts_as_updated(app: TestApp) {
        import(&app, "registry.csv", registry(&GOOD).as_bytes());
        let renamed = GOOD[0].replace("山田 太郎", "山田 太朗");
        let file = registry(&[&renamed, GOOD[1], GOOD[2], GOOD[3]]);
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(
            out.starts_with("4 rows: 0 inserted, 1 updated, 3 unchanged, 0 rejected"),
            "{out}"
        );
        assert_eq!(counts(&app).await, (4, 4, 4));
        let taro = professional_by_email(&app, "taro@example.jp").await;
        assert_eq!(taro.legal_name, "山田 太朗");
    }
}

db_test! {
    async fn a_new_cycle_start_for_a_known_holding_adds_a_cycle(app: TestApp) {
        import(&app, "first.csv", registry(&[GOOD[0].replace(",2024-01-01", ",2021-01-01").as_str()]).as_bytes());
        let out = import(&app, "second.csv", registry(&[GOOD[0]]).as_bytes());
        assert!(out.starts_with("1 rows: 0 inserted, 1 updated"), "{out}");
        assert_eq!(counts(&app).await, (1, 1, 2));
    }
}

db_test! {
    async fn a_registry_without_a_required_column_is_refused_as_a_whole(app: TestApp) {
        let path = app.file("registry.csv");
        std::fs::write(&path, "scheme,registration_number,email\ncissp,1,a@example.jp\n").unwrap();
        let (_, stderr) = failure_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
        assert!(stderr.contains("missing column(s): legal_name"), "{stderr}");
        assert_eq!(counts(&app).await, (0, 0, 0));
    }
}

db_test! {
    async fn a_registry_of_several_batches_imports_whole_and_reimports_unchanged(app: TestApp) {
        // 1,201 rows: three batches, and enough inserts to refresh planner statistics.
        let rows: Vec<String> = (0..1201)
            .map(|i| {
                // Every tenth person also holds a second scheme under the same email.
                let (scheme, person) = if i % 10 == 1 { ("cisa", i - 1) } else { ("cissp", i) };
                format!(
                    "{scheme},{i:06},p{person}@example.jp,山田 太郎{person},ヤマダ タロウ,Taro {person},2024-01-01,2024-01-01"
                )
            })
            .collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let file = registry(&rows);
        let out = import(&app, "large.csv", file.as_bytes());
        assert!(out.starts_with("1201 rows: 1201 inserted, 0 updated, 0 unchanged, 0 rejected"), "{out}");
        assert_eq!(counts(&app).await, (1081, 1201, 1201));
        let out = import(&app, "large.csv", file.as_bytes());
        assert!(out.starts_with("1201 rows: 0 inserted, 0 updated, 1201 unchanged, 0 rejected"), "{out}");
        assert_eq!(counts(&app).await, (1081, 1201, 1201));
    }
}

db_test! {
    async fn importing_with_invite_queues_one_invitation_per_new_holder_and_never_twice(app: TestApp) {
        let path = app.file("registry.csv");
        std::fs::write(&path, registry(&GOOD)).unwrap();
        let path = path.to_str().unwrap();
        let first = stdout_of(&app.cli(&["import", "holders", path, "--invite"]));
        assert!(first.contains("invitations: 4 queued"), "{first}");
        let queued = entity::notifications::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(queued, 4);
        let again = stdout_of(&app.cli(&["admin", "invite-holders"]));
        assert!(again.contains("invitations: 0 queued"), "{again}");
        assert_eq!(
            entity::notifications::Entity::find().count(&app.state.db).await.unwrap(),
            4
        );
        // And the four go out.
        assert_eq!(app.dispatch_pending_emails().await, 4);
    }
}

db_test! {
    async fn columns_are_read_by_name_in_any_order_and_a_short_row_names_its_first_missing_field(app: TestApp) {
        let file = "\
locale,cycle_start,certified_on,display_name,legal_name_kana,legal_name,email,registration_number,scheme
en,2024-01-01,2021-01-01,Taro,ヤマダ タロウ,山田 太郎,taro@example.jp,123456,cissp
en,2024-01-01,2021-01-01,Short,,Short Row
";
        let out = import(&app, "reordered.csv", file.as_bytes());
        assert!(out.starts_with("2 rows: 1 inserted, 0 updated, 0 unchanged, 1 rejected"), "{out}");
        // The short row has no email, registration number or scheme: the first checked is named.
        assert!(out.contains("line 3: scheme: is empty"), "{out}");
        let taro = professional_by_email(&app, "taro@example.jp").await;
        assert_eq!(taro.legal_name, "山田 太郎");
        assert_eq!(taro.locale, "en");
    }
}

db_test! {
    async fn one_stray_latin1_byte_rejects_its_row_by_line_and_column_and_leaves_other_names_unchanged(app: TestApp) {
        let file = registry(&[GOOD[0], GOOD[1]]);
        let first = import(&app, "registry.csv", file.as_bytes());
        assert!(first.starts_with("2 rows: 2 inserted"), "{first}");

        // The same file, with a Latin-1 "é" (0xE9) typed into the second row's display name.
        let mut bytes = format!("{HEADER}\n{}\n", GOOD[0]).into_bytes();
        bytes.extend_from_slice(
            b"cisa,20112233,hanako@example.jp,\xe4\xbd\x90\xe8\x97\xa4 \xe8\x8a\xb1\xe5\xad\x90,,Caf\xe9,2023-07-01,2024-01-01\n",
        );
        let second = import(&app, "registry.csv", &bytes);
        assert!(
            second.starts_with("2 rows: 0 inserted, 0 updated, 1 unchanged, 1 rejected"),
            "{second}"
        );
        assert!(
            second.contains("line 3: display_name: a byte sequence at line 3, column 43 is not valid UTF-8"),
            "{second}"
        );
        let taro = professional_by_email(&app, "taro@example.jp").await;
        assert_eq!(taro.legal_name, "山田 太郎");
        let hanako = professional_by_email(&app, "hanako@example.jp").await;
        assert_eq!(hanako.display_name.as_deref(), Some("Hanako"));
    }
}

db_test! {
    async fn a_failure_inside_the_write_leaves_nothing_and_a_second_run_imports_everything(app: TestApp) {
        let mut rows = GOOD.to_vec();
        rows.insert(2, "cissp,999999,ken@example.jp,高橋 健,タカハシ ケン,Ken,2022-01-01,2025-01-01");
        let file = registry(&rows);
        app.refuse_inserts("holdings", "registration_number", "999999").await;
        let path = app.file("registry.csv");
        std::fs::write(&path, file.as_bytes()).unwrap();
        let (_, stderr) = failure_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
        assert!(stderr.contains("refused inside the write"), "{stderr}");
        assert_eq!(counts(&app).await, (0, 0, 0), "nothing of the batch is written");

        app.stop_refusing("holdings").await;
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(out.starts_with("5 rows: 5 inserted, 0 updated, 0 unchanged, 0 rejected"), "{out}");
        assert_eq!(counts(&app).await, (5, 5, 5));
    }
}

db_test! {
    async fn a_registry_larger_than_one_transaction_imports_whole_and_reimports_unchanged(app: TestApp) {
        // Three transactions of 500 and one of 201, with people whose second holding lands
        // in a later transaction than their first.
        let rows: Vec<String> = (0..1701)
            .map(|i| {
                let (scheme, person) = if i % 10 == 1 { ("cisa", i - 1) } else { ("cissp", i) };
                let person = if i >= 1600 { (i - 1600) * 10 } else { person };
                let scheme = if i >= 1600 { "giac" } else { scheme };
                format!(
                    "{scheme},{i:06},p{person}@example.jp,山田 太郎{person},ヤマダ タロウ,Taro {person},2024-01-01,2024-01-01"
                )
            })
            .collect();
        let file = rows.iter().fold(format!("{HEADER}\n"), |mut text, row| {
            text.push_str(row);
            text.push('\n');
            text
        });
        let db = &app.state.db;
        let catalog = &app.state.schemes;
        let first = cpe_ledger::services::registry_import::import_in_batches(
            db, catalog, file.as_bytes(), "large.csv", &mut (), 500,
        )
        .await
        .unwrap();
        assert_eq!((first.inserted, first.updated, first.rejected.len()), (1701, 0, 0));
        let (people, holdings, cycles) = counts(&app).await;
        assert_eq!((holdings, cycles), (1701, 1701));
        assert_eq!(people, 1440, "a person seen in an earlier transaction is found, not created again");
        let second = cpe_ledger::services::registry_import::import_in_batches(
            db, catalog, file.as_bytes(), "large.csv", &mut (), 500,
        )
        .await
        .unwrap();
        assert_eq!((second.inserted, second.updated, second.unchanged), (0, 0, 1701));
        assert_eq!(counts(&app).await, (1440, 1701, 1701));
    }
}

db_test! {
    async fn rows_that_name_one_person_differently_are_all_refused_and_change_nothing_until_the_file_agrees(app: TestApp) {
        let agreed = registry(&[
            "riss,000777,hanako@example.jp,佐藤 花子,サトウ ハナコ,Hanako,2023-04-01,2023-04-01",
        ]);
        import(&app, "first.csv", agreed.as_bytes());
        let disagreeing = registry(&[
            "riss,000777,hanako@example.jp,佐藤 花子,サトウ ハナコ,Hanako,2023-04-01,2023-04-01",
            GOOD[0],
            "cissp,654321,hanako@example.jp,Hanako Sato,,Hanako,2023-04-01,2023-04-01",
        ]);
        for _ in 0..2 {
            let out = import(&app, "registry.csv", disagreeing.as_bytes());
            assert!(out.contains("rows: 1 inserted, 0 updated, 0 unchanged, 2 rejected")
                || out.contains("rows: 0 inserted, 0 updated, 1 unchanged, 2 rejected"), "{out}");
            for line in ["line 2: email: ", "line 4: email: "] {
                assert!(out.contains(line), "missing {line:?} in\n{out}");
            }
            assert!(out.contains("between lines 2 and 4"), "{out}");
            let hanako = professional_by_email(&app, "hanako@example.jp").await;
            assert_eq!(hanako.legal_name, "佐藤 花子", "nothing changes while the file disagrees");
            assert_eq!(counts(&app).await, (2, 2, 2), "the CISSP row is not added either");
        }
    }
}

db_test! {
    async fn every_problem_of_a_row_is_reported_not_only_the_first(app: TestApp) {
        let file = registry(&["nope,12,not-an-email,,,,2024-13-01,yesterday"]);
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(out.starts_with("1 rows: 0 inserted, 0 updated, 0 unchanged, 1 rejected"), "{out}");
        for expected in [
            "line 2: scheme: unknown scheme 'nope'",
            "line 2: email: ",
            "line 2: legal_name: is empty",
            "line 2: certified_on: '2024-13-01' is not a date",
            "line 2: cycle_start: 'yesterday' is not a date",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in\n{out}");
        }
    }
}

db_test! {
    async fn a_row_with_too_many_columns_is_refused_with_the_count_expected(app: TestApp) {
        let file = registry(&[GOOD[0], &format!("{},extra", GOOD[1])]);
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(out.starts_with("2 rows: 1 inserted, 0 updated, 0 unchanged, 1 rejected"), "{out}");
        assert!(out.contains("line 3: row: has 9 columns; the header has 8"), "{out}");
    }
}

db_test! {
    async fn a_duplicate_row_names_the_line_of_the_first(app: TestApp) {
        let file = registry(&[GOOD[0], GOOD[1], GOOD[0]]);
        let out = import(&app, "registry.csv", file.as_bytes());
        assert!(
            out.contains("line 4: registration_number: appears earlier in the same file, on line 2"),
            "{out}"
        );
    }
}

db_test! {
    async fn a_run_that_rejects_nothing_removes_the_report_of_an_earlier_run(app: TestApp) {
        let bad = registry(&[GOOD[0], "nope,555,x@example.jp,X,,,2024-01-01,2024-01-01"]);
        import(&app, "registry.csv", bad.as_bytes());
        let report = app.file("registry.csv.rejected.csv");
        assert!(report.exists());
        let fixed = registry(&[GOOD[0]]);
        let out = import(&app, "registry.csv", fixed.as_bytes());
        assert!(!report.exists(), "a stale report would describe rows the file no longer has");
        assert!(out.contains("removed"), "{out}");
    }
}
