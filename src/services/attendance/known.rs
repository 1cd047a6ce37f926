//! What a batch of attendance refers to, looked up once for all its rows: courses and what
//! they award, people by registration number, email or id, their time zones, holdings and
//! first cycle days, and the provider's earlier reports under the same references.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::{courses, credits, cycles, holdings, professionals};
use sea_orm::{ConnectionTrait, DbErr, Value};
use uuid::Uuid;

use super::{PersonRef, rows};
use crate::services::bulk_write;
use crate::services::courses::{Award, awards_of};

/// A person a row names, as far as judging the row needs them.
pub(super) struct Person {
    pub(super) id: Uuid,
    pub(super) time_zone: chrono_tz::Tz,
}

/// What a batch refers to, looked up once for all its rows. Only the columns judging needs are
/// read: a batch of thousands reads thousands of people, holdings and cycles.
pub(super) struct Known {
    pub(super) courses: HashMap<String, courses::Model>,
    pub(super) awards: HashMap<Uuid, Vec<Award>>,
    pub(super) by_registration: HashMap<(String, String), Uuid>,
    pub(super) by_email: HashMap<String, Uuid>,
    pub(super) people: HashMap<Uuid, Person>,
    /// Each professional's holdings: (scheme, first day of its first cycle on record).
    pub(super) holdings: HashMap<Uuid, Vec<(String, Option<NaiveDate>)>>,
    pub(super) earlier: HashMap<String, credits::Model>,
}

impl Known {
    pub(super) async fn load(
        conn: &impl ConnectionTrait,
        provider_id: Uuid,
        rows: &[rows::Reported],
    ) -> Result<Self, DbErr> {
        let valid = || rows.iter().filter_map(|r| r.as_ref().ok());
        let distinct = |keys: Vec<Vec<Value>>| {
            let mut seen = HashSet::new();
            keys.into_iter()
                .filter(|k| seen.insert(format!("{k:?}")))
                .collect::<Vec<_>>()
        };

        let course_keys = distinct(
            valid()
                .map(|r| vec![provider_id.into(), r.course.clone().into()])
                .collect(),
        );
        let found = bulk_write::find_by_keys::<courses::Entity>(
            conn,
            &[courses::Column::ProviderId, courses::Column::Code],
            course_keys,
        )
        .await?;
        let ids: Vec<Uuid> = found.iter().map(|c| c.id).collect();
        let awards = awards_of(conn, &ids).await?;
        let courses = found.into_iter().map(|c| (c.code.clone(), c)).collect();

        let registration_keys = distinct(
            valid()
                .filter_map(|r| match &r.person {
                    PersonRef::Registration {
                        scheme,
                        registration_number,
                    } => Some(vec![
                        scheme.clone().into(),
                        registration_number.clone().into(),
                    ]),
                    _ => None,
                })
                .collect(),
        );
        let by_registration: HashMap<(String, String), Uuid> =
            bulk_write::find_columns_by_keys::<holdings::Entity, (String, String, Uuid)>(
                conn,
                &[
                    holdings::Column::SchemeId,
                    holdings::Column::RegistrationNumber,
                ],
                registration_keys,
                &[
                    holdings::Column::SchemeId,
                    holdings::Column::RegistrationNumber,
                    holdings::Column::ProfessionalId,
                ],
            )
            .await?
            .into_iter()
            .map(|(scheme, number, professional)| ((scheme, number), professional))
            .collect();
        let email_keys = distinct(
            valid()
                .filter_map(|r| match &r.person {
                    PersonRef::Email(email) => Some(vec![email.clone().into()]),
                    _ => None,
                })
                .collect(),
        );
        let by_email: HashMap<String, Uuid> =
            bulk_write::find_columns_by_keys::<professionals::Entity, (Option<String>, Uuid)>(
                conn,
                &[professionals::Column::Email],
                email_keys,
                &[professionals::Column::Email, professionals::Column::Id],
            )
            .await?
            .into_iter()
            .filter_map(|(email, id)| email.map(|e| (e, id)))
            .collect();

        let mut people: HashSet<Uuid> = by_registration.values().copied().collect();
        people.extend(by_email.values().copied());
        people.extend(valid().filter_map(|r| match r.person {
            PersonRef::Professional(id) => Some(id),
            _ => None,
        }));
        let people: Vec<Vec<Value>> = people.into_iter().map(|id| vec![id.into()]).collect();
        let found_people: HashMap<Uuid, Person> =
            bulk_write::find_columns_by_keys::<professionals::Entity, (Uuid, String)>(
                conn,
                &[professionals::Column::Id],
                people.clone(),
                &[professionals::Column::Id, professionals::Column::TimeZone],
            )
            .await?
            .into_iter()
            .map(|(id, time_zone)| {
                let time_zone = time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
                (id, Person { id, time_zone })
            })
            .collect();
        let held: Vec<(Uuid, Uuid, String)> =
            bulk_write::find_columns_by_keys::<holdings::Entity, _>(
                conn,
                &[holdings::Column::ProfessionalId],
                people,
                &[
                    holdings::Column::Id,
                    holdings::Column::ProfessionalId,
                    holdings::Column::SchemeId,
                ],
            )
            .await?;
        let cycle_keys: Vec<Vec<Value>> =
            held.iter().map(|(id, _, _)| vec![(*id).into()]).collect();
        let mut first_start: HashMap<Uuid, NaiveDate> = HashMap::new();
        for (holding_id, starts_on) in
            bulk_write::find_columns_by_keys::<cycles::Entity, (Uuid, NaiveDate)>(
                conn,
                &[cycles::Column::HoldingId],
                cycle_keys,
                &[cycles::Column::HoldingId, cycles::Column::StartsOn],
            )
            .await?
        {
            let start = first_start.entry(holding_id).or_insert(starts_on);
            *start = (*start).min(starts_on);
        }
        let mut holdings: HashMap<Uuid, Vec<(String, Option<NaiveDate>)>> = HashMap::new();
        for (holding_id, professional_id, scheme_id) in held {
            holdings
                .entry(professional_id)
                .or_default()
                .push((scheme_id, first_start.get(&holding_id).copied()));
        }

        let reference_keys = distinct(
            valid()
                .map(|r| vec![provider_id.into(), r.reference.clone().into()])
                .collect(),
        );
        let earlier = bulk_write::find_by_keys::<credits::Entity>(
            conn,
            &[
                credits::Column::ProviderId,
                credits::Column::ProviderReference,
            ],
            reference_keys,
        )
        .await?
        .into_iter()
        .filter_map(|c| c.provider_reference.clone().map(|r| (r, c)))
        .collect();
        Ok(Self {
            courses,
            awards,
            by_registration,
            by_email,
            people: found_people,
            holdings,
            earlier,
        })
    }
}
