//! The scheduler's settings: whether it runs, when each job fires, and in which time zone.

use super::{ConfigError, Settings, non_empty};

/// The scheduler's settings: whether it runs, and when each job fires.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub enabled: bool,
    pub sweep_cron: String,
    pub drain_cron: String,
    pub time_zone: chrono_tz::Tz,
    pub congratulate: bool,
}

pub const DEFAULT_SWEEP_CRON: &str = "0 0 9 * * *";
pub const DEFAULT_DRAIN_CRON: &str = "0 * * * * *";

/// Parses a cron expression with seconds, as the scheduler reads it.
pub fn parse_cron(text: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(text)
        .map_err(|e| format!("'{text}' is not a cron expression with seconds: {e}"))
}

impl Schedule {
    pub(super) fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let cron = |setting: &'static str, value: Option<&str>, default: &str| {
            let text = non_empty(value).unwrap_or(default).to_owned();
            parse_cron(&text).map_err(|m| ConfigError::new(setting, m))?;
            Ok::<_, ConfigError>(text)
        };
        let zone = non_empty(settings.schedule_time_zone.as_deref()).unwrap_or("Asia/Tokyo");
        Ok(Self {
            enabled: settings.scheduler.unwrap_or(true),
            sweep_cron: cron(
                "CPE_LEDGER_SWEEP_CRON",
                settings.sweep_cron.as_deref(),
                DEFAULT_SWEEP_CRON,
            )?,
            drain_cron: cron(
                "CPE_LEDGER_DRAIN_CRON",
                settings.drain_cron.as_deref(),
                DEFAULT_DRAIN_CRON,
            )?,
            time_zone: zone.parse().map_err(|_| {
                ConfigError::new(
                    "CPE_LEDGER_SCHEDULE_TIME_ZONE",
                    format!("'{zone}' is not an IANA time zone"),
                )
            })?,
            congratulate: settings.remind_congratulations.unwrap_or(true),
        })
    }
}
