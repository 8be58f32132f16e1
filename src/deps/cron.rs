//! Cron expressions for `[janitor] schedule`: five fields (minute, hour, day of month, month,
//! day of week; UTC), each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a list of
//! these. As in cron, when both day fields are restricted either may match.

use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    fields: [Vec<bool>; 5],
    dom_any: bool,
    dow_any: bool,
}

const BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
const NAMES: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];

fn field(text: &str, i: usize) -> Result<Vec<bool>, String> {
    let (lo, hi) = BOUNDS[i];
    let mut set = vec![false; hi as usize + 1];
    let bad = || format!("{:?} is not a valid {} field ({lo}-{hi})", text, NAMES[i]);
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad())?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(bad());
        }
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
        } else {
            let a: u32 = range.parse().map_err(|_| bad())?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return Err(bad());
        }
        for v in (a..=b).step_by(step as usize) {
            set[v as usize] = true;
        }
    }
    if i == 4 && set[7] {
        set[0] = true;
    }
    Ok(set)
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "{text:?}: a cron expression has 5 fields (minute hour day-of-month month day-of-week)"
            ));
        }
        let mut fields: [Vec<bool>; 5] = Default::default();
        for (i, p) in parts.iter().enumerate() {
            fields[i] = field(p, i)?;
        }
        Ok(Cron {
            fields,
            dom_any: parts[2] == "*",
            dow_any: parts[4] == "*",
        })
    }

    pub fn matches(&self, t: OffsetDateTime) -> bool {
        let f = &self.fields;
        let dom = f[2][t.day() as usize];
        let dow = f[4][t.weekday().number_days_from_sunday() as usize];
        let day = match (self.dom_any, self.dow_any) {
            (false, false) => dom || dow,
            _ => dom && dow,
        };
        f[0][t.minute() as usize]
            && f[1][t.hour() as usize]
            && f[3][u8::from(t.month()) as usize]
            && day
    }

    /// The first whole minute after `t` that matches (within about four years).
    pub fn next_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let start =
            t.replace_second(0).ok()?.replace_nanosecond(0).ok()? + time::Duration::minutes(1);
        let mut c = start;
        for _ in 0..(4 * 366 * 24 * 60) {
            if self.matches(c) {
                return Some(c);
            }
            c += time::Duration::minutes(1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sunday_two_oclock_and_bad_expressions() {
        let c = Cron::parse("0 2 * * 0").unwrap();
        // 2026-12-07 is a Monday: the next Sunday is the 13th.
        let next = c.next_after(datetime!(2026-12-07 05:00 UTC)).unwrap();
        assert_eq!(next, datetime!(2026-12-13 02:00 UTC));
        assert_eq!(
            Cron::parse("*/15 9-17 * * 1-5")
                .unwrap()
                .next_after(datetime!(2026-12-07 09:07:30 UTC)),
            Some(datetime!(2026-12-07 09:15 UTC))
        );
        assert_eq!(
            Cron::parse("0 0 1 * 7")
                .unwrap()
                .next_after(datetime!(2026-12-07 00:00 UTC)),
            Some(datetime!(2026-12-13 00:00 UTC)),
            "either day field may match; 7 is Sunday"
        );
        for bad in [
            "0 2 * *",
            "61 * * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "a b c d e",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }
}
