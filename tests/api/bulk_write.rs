//! The one bulk-write path: what goes in comes back unchanged on every database, and a taken
//! key fails the whole statement.

use chrono::{NaiveDate, Utc};
use cpe_ledger::services::bulk_write;
use entity::{holdings, professionals};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder, TransactionTrait};
use uuid::Uuid;

use crate::db_test;

fn person(name: &str, kana: Option<&str>, email: Option<&str>) -> professionals::ActiveModel {
    let now = Utc::now();
    professionals::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.map(str::to_owned)),
        legal_name: Set(name.to_owned()),
        legal_name_kana: Set(kana.map(str::to_owned)),
        display_name: Set(None),
        locale: Set("ja".to_owned()),
        time_zone: Set("Asia/Tokyo".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

db_test! {
    async fn awkward_text_nulls_and_the_word_null_come_back_exactly_as_written(app: TestApp) {
        let names = [
            "O\"Brien \\ {a,b}",
            "NULL",
            "山田 太郎, \"タロウ\"",
            "tab\tand\nnewline",
            "",
        ];
        let models: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let kana = (i % 2 == 0).then_some("ヤマダ");
                person(name, kana, Some(&format!("p{i}@example.jp")))
            })
            .collect();
        let txn = app.state.db.begin().await.unwrap();
        let inserted = bulk_write::insert(&txn, models).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(inserted, 5);
        let stored = professionals::Entity::find()
            .order_by_asc(professionals::Column::Id)
            .all(&app.state.db)
            .await
            .unwrap();
        let read: Vec<(&str, Option<&str>)> = stored
            .iter()
            .map(|p| (p.legal_name.as_str(), p.legal_name_kana.as_deref()))
            .collect();
        let written: Vec<(&str, Option<&str>)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (*name, (i % 2 == 0).then_some("ヤマダ")))
            .collect();
        assert_eq!(read, written);
    }
}

db_test! {
    async fn a_taken_key_fails_the_statement_and_nothing_of_it_is_written(app: TestApp) {
        let db = &app.state.db;
        let first = person("先 一郎", None, Some("taken@example.jp"));
        bulk_write::insert(db, vec![first]).await.unwrap();

        let txn = db.begin().await.unwrap();
        let refused = bulk_write::insert(
            &txn,
            vec![
                person("新 二郎", None, Some("new@example.jp")),
                person("後 三郎", None, Some("taken@example.jp")),
            ],
        )
        .await;
        assert!(refused.is_err(), "a taken key fails the statement");
        txn.rollback().await.unwrap();
        let names: Vec<String> = professionals::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.legal_name)
            .collect();
        assert_eq!(names, ["先 一郎"]);
    }
}

db_test! {
    async fn rows_found_by_two_column_keys_are_exactly_those_asked_for(app: TestApp) {
        let db = &app.state.db;
        let owner = person("持 主", None, None);
        let owner_id = owner.id.clone().unwrap();
        bulk_write::insert(db, vec![owner]).await.unwrap();
        let now = Utc::now();
        let holding = |scheme: &str, number: &str| holdings::ActiveModel {
            id: Set(Uuid::now_v7()),
            professional_id: Set(owner_id),
            scheme_id: Set(scheme.to_owned()),
            registration_number: Set(number.to_owned()),
            certified_on: Set(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()),
            status: Set(holdings::HoldingStatus::Active),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let rows: Vec<_> = (0..30)
            .flat_map(|i| [holding("cissp", &format!("{i:06}")), holding("cisa", &format!("{i:06}"))])
            .collect();
        assert_eq!(bulk_write::insert(db, rows).await.unwrap(), 60);

        let keys = vec![
            vec!["cissp".into(), "000003".into()],
            vec!["cisa".into(), "000003".into()],
            vec!["cisa".into(), "000029".into()],
            vec!["cissp".into(), "999999".into()],
            vec!["giac".into(), "000001".into()],
        ];
        let mut found: Vec<(String, String)> = bulk_write::find_by_keys::<holdings::Entity>(
            db,
            &[holdings::Column::SchemeId, holdings::Column::RegistrationNumber],
            keys,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.scheme_id, h.registration_number))
        .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("cisa".to_owned(), "000003".to_owned()),
                ("cisa".to_owned(), "000029".to_owned()),
                ("cissp".to_owned(), "000003".to_owned()),
            ]
        );
    }
}

db_test! {
    async fn a_row_written_in_bulk_is_stored_exactly_as_the_orm_stores_it(app: TestApp) {
        use entity::credits::{self, CreditSource, CreditState};
        use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, Statement};

        let db = &app.state.db;
        let owner = person("記 録", None, None);
        let owner_id = owner.id.clone().unwrap();
        bulk_write::insert(db, vec![owner]).await.unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T09:15:42.123456+09:00")
            .unwrap()
            .to_utc();
        let credit = |id: Uuid, reference: &str| credits::ActiveModel {
            id: Set(id),
            professional_id: Set(owner_id),
            course_id: Set(None),
            provider_id: Set(None),
            provider_reference: Set(Some(reference.to_owned())),
            activity_type: Set("education".to_owned()),
            title: Set("\"引用\" \\ and\nnewline, NULL".to_owned()),
            completed_on: Set(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()),
            completed_at: Set(Some(at)),
            hours: Set(-250),
            source: Set(CreditSource::SelfReported),
            reported_points: Set(None),
            state: Set(CreditState::Approved),
            evidence: Set(Some(serde_json::json!({"file": "証明.pdf", "pages": [1, 2.5], "ok": true}))),
            replaces_credit_id: Set(None),
            voided_at: Set(None),
            void_reason: Set(None),
            recorded_by: Set(Some("test".to_owned())),
            created_at: Set(at),
        };
        let (by_orm, in_bulk) = (Uuid::now_v7(), Uuid::now_v7());
        credit(by_orm, "R-1").insert(db).await.unwrap();
        bulk_write::insert(db, vec![credit(in_bulk, "R-1-bulk")]).await.unwrap();

        let read = |id| credits::Entity::find_by_id(id).one(db);
        let (mut a, mut b) = (read(by_orm).await.unwrap().unwrap(), read(in_bulk).await.unwrap().unwrap());
        (a.id, a.provider_reference) = (b.id, b.provider_reference.clone());
        assert_eq!(a, b, "the two rows read back alike");
        b.id = in_bulk;

        if db.get_database_backend() == DbBackend::Sqlite {
            // Byte for byte: the same storage class and the same text, so SQL compares and
            // orders the two rows alike too.
            let columns = [
                "id", "professional_id", "course_id", "title", "completed_on", "completed_at",
                "hours", "source", "reported_points", "evidence", "created_at",
            ];
            let stored = |id: Uuid| {
                let sql = format!(
                    "SELECT {} FROM credits WHERE id = ?",
                    columns
                        .iter()
                        .map(|c| format!("typeof({c}) || ':' || quote({c})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                db.query_one_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, [id.into()]))
            };
            let (orm, bulk) = (stored(by_orm).await.unwrap().unwrap(), stored(in_bulk).await.unwrap().unwrap());
            for (i, column) in columns.iter().enumerate() {
                let (x, y): (String, String) = (orm.try_get_by_index(i).unwrap(), bulk.try_get_by_index(i).unwrap());
                if *column == "id" {
                    assert!(x.starts_with("blob:") && y.starts_with("blob:"), "{column}: {x} / {y}");
                } else {
                    assert_eq!(x, y, "column {column}");
                }
            }
        }
    }
}
