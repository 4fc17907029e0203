//! Dates and times as the catalog stores them: text that sorts in time
//! order. A first-seen given as a day stays a day (`2026-01-27`); a
//! timestamp is stored in UTC (`2026-01-27T09:30:00Z`). Both start with
//! `YYYY-MM-DD`, so string order is time order to the day.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::error::{Error, Result};

/// Parses a user-given first-seen: a date (`2026-01-27`) or an RFC 3339
/// timestamp (`2026-01-27T09:30:00+01:00`). Returns the stored form.
///
/// # Errors
/// [`Error::Invalid`] for anything else, naming the accepted forms.
pub fn parse_first_seen(s: &str) -> Result<String> {
    let s = s.trim();
    let plausible = |d: NaiveDate| -> Result<()> {
        // The first photograph that survives dates from 1826; a date
        // after today (with a day for time zones) cannot have been seen.
        let earliest = NaiveDate::from_ymd_opt(1826, 1, 1).unwrap_or(NaiveDate::MIN);
        let latest = Utc::now().date_naive() + chrono::Days::new(1);
        if d < earliest {
            return Err(Error::Invalid {
                what: "first-seen date",
                reason: format!("{s:?} is before 1826, older than any photograph"),
            });
        }
        if d > latest {
            return Err(Error::Invalid {
                what: "first-seen date",
                reason: format!("{s:?} is in the future"),
            });
        }
        Ok(())
    };
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        plausible(d)?;
        return Ok(d.format("%Y-%m-%d").to_string());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = t.with_timezone(&Utc);
        plausible(t.date_naive())?;
        return Ok(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    Err(Error::Invalid {
        what: "first-seen date",
        reason: format!(
            "{s:?}: use a date (2026-01-27) or an RFC 3339 timestamp (2026-01-27T09:30:00Z)"
        ),
    })
}

/// The current time in the stored form (UTC, seconds).
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The day part (`YYYY-MM-DD`) of a stored date or timestamp.
pub fn day(stored: &str) -> &str {
    stored.get(..10).unwrap_or(stored)
}

/// Whole days from `earlier` to `later` (stored forms), if both parse.
pub fn days_between(earlier: &str, later: &str) -> Option<i64> {
    let a = NaiveDate::parse_from_str(day(earlier), "%Y-%m-%d").ok()?;
    let b = NaiveDate::parse_from_str(day(later), "%Y-%m-%d").ok()?;
    Some((b - a).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(parse_first_seen("2026-01-27").unwrap(), "2026-01-27");
        assert_eq!(
            parse_first_seen("2026-01-27T09:30:00+01:00").unwrap(),
            "2026-01-27T08:30:00Z"
        );
        assert!(parse_first_seen("27/01/2026").is_err());
        assert!(parse_first_seen("2026-02-30").is_err());
        assert_eq!(
            days_between("2024-01-27", "2026-01-27T08:00:00Z"),
            Some(731)
        );
    }
}
