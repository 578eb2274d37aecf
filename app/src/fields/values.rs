//! An extra field's values: reading what a person typed (per type, with a message when it does
//! not fit), the stored form, and the readable and editable forms of a stored value.

use chrono::{NaiveDate, NaiveDateTime};

use super::{FieldDef, FieldKind};
use crate::clock::Clock;
use crate::db::fold;

/// One stored value (a multi select stores one per option).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The stored form: text as typed (trimmed), decimals as text with the field's decimals,
    /// ISO dates, UTC date-times, `yes`/`no`, option ids.
    pub value: String,
    /// What filters, sorting and uniqueness compare.
    pub key: String,
    pub number: Option<f64>,
    pub option_id: Option<i64>,
}

/// The longest key kept for sorting and comparing (PostgreSQL's btree rows have a size limit).
const KEY_CHARS: usize = 500;
/// Numbers keep at most this many digits, so that ordering them as floats is exact.
const MAX_DIGITS: usize = 15;

fn text_key(value: &str) -> String {
    fold(value).chars().take(KEY_CHARS).collect()
}

fn text(value: String) -> Stored {
    Stored { key: text_key(&value), value, number: None, option_id: None }
}

/// Reads the values typed into `def`'s inputs (empty ones dropped); a select's come as option ids,
/// as the forms send them. `current` are the option ids the contact already has: a retired option
/// may stay, but not be newly picked.
pub fn parse(
    def: &FieldDef,
    typed: &[String],
    current: &[i64],
    clock: &Clock,
) -> Result<Vec<Stored>, String> {
    parse_as(def, typed, current, clock, Read::Typed)
}

/// Like [`parse`], but a select's values are option labels, as a person writes them (a bulk
/// edit, a default, an imported cell): an option labelled "40" is never taken for option id 40.
pub fn parse_labels(
    def: &FieldDef,
    typed: &[String],
    current: &[i64],
    clock: &Clock,
) -> Result<Vec<Stored>, String> {
    parse_as(def, typed, current, clock, Read::Labels)
}

/// What is being read: what a form sent (option ids), what a person wrote (option labels), or
/// values in their stored form (from a field of another type: "1.500" is one and a half).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Typed,
    Labels,
    Stored,
}

fn parse_as(
    def: &FieldDef,
    typed: &[String],
    current: &[i64],
    clock: &Clock,
    read: Read,
) -> Result<Vec<Stored>, String> {
    // NUL characters are dropped (PostgreSQL cannot store them).
    let typed: Vec<String> = typed.iter().map(|t| t.replace('\0', "")).collect();
    let typed: Vec<&str> = typed.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).collect();
    if typed.is_empty() {
        return if def.required { Err(format!("Enter {}.", def.label)) } else { Ok(Vec::new()) };
    }
    if def.kind == FieldKind::MultiSelect {
        let mut out: Vec<Stored> = Vec::new();
        for t in typed {
            let stored = option(def, t, current, read == Read::Labels)?;
            if !out.iter().any(|o| o.option_id == stored.option_id) {
                out.push(stored);
            }
        }
        return Ok(out);
    }
    if typed.len() > 1 {
        return Err("Choose one value.".to_owned());
    }
    parse_one(def, typed[0], current, clock, read).map(|s| vec![s])
}

fn parse_one(def: &FieldDef, t: &str, current: &[i64], clock: &Clock, read: Read) -> Result<Stored, String> {
    let labels = read == Read::Labels;
    match def.kind {
        FieldKind::Text => {
            if t.contains(['\n', '\r']) {
                return Err("Use a single line.".to_owned());
            }
            within(t, 500)?;
            Ok(text(t.to_owned()))
        }
        FieldKind::LongText => {
            within(t, 10_000)?;
            Ok(text(t.to_owned()))
        }
        FieldKind::Email => {
            crate::accounts::api::validate_email(t).map_err(|m| m.to_string())?;
            Ok(text(t.to_owned()))
        }
        FieldKind::Url => {
            within(t, 2_000)?;
            if t.contains(char::is_whitespace) || !t.contains('.') {
                return Err("Enter a web address like example.com.".to_owned());
            }
            Ok(text(t.to_owned()))
        }
        FieldKind::Phone => {
            within(t, 50)?;
            let digits = t.chars().filter(char::is_ascii_digit).count();
            let allowed =
                t.chars().all(|c| c.is_ascii_digit() || " +-()./".contains(c) || "extEXT".contains(c));
            if digits < 3 || !allowed {
                return Err("Enter a phone number like +44 20 7946 0958.".to_owned());
            }
            Ok(text(t.to_owned()))
        }
        FieldKind::Integer => {
            if read != Read::Stored && ambiguous(t, 0) {
                return Err(AMBIGUOUS.to_owned());
            }
            let digits = number_text(t).ok_or("Enter a whole number like 42.")?;
            // "12.00" is twelve; "12.5" is not a whole number.
            let digits = match digits.split_once('.') {
                Some((whole, fraction)) if fraction.chars().all(|c| c == '0') => whole.to_owned(),
                Some(_) => return Err("Enter a whole number, without decimals.".to_owned()),
                None => digits,
            };
            if digits.trim_start_matches('-').len() > MAX_DIGITS {
                return Err(format!("Use at most {MAX_DIGITS} digits."));
            }
            let n: i64 = digits.parse().map_err(|_| "Enter a whole number like 42.".to_owned())?;
            Ok(Stored { value: n.to_string(), key: n.to_string(), number: Some(n as f64), option_id: None })
        }
        FieldKind::Decimal => {
            let example = if def.decimals > 0 {
                format!("Enter a number like 12.{}.", "5".repeat(def.decimals as usize))
            } else {
                "Enter a number like 12.".to_owned()
            };
            if read != Read::Stored && ambiguous(t, def.decimals.max(0) as usize) {
                return Err(AMBIGUOUS.to_owned());
            }
            let digits = number_text(t).ok_or(example)?;
            let value = with_decimals(&digits, def.decimals.max(0) as usize)?;
            let number: f64 = value.parse().map_err(|_| "Enter a number.".to_owned())?;
            Ok(Stored { key: value.clone(), value, number: Some(number), option_id: None })
        }
        FieldKind::Date => {
            let date = NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .filter(plausible)
                .ok_or_else(|| "Enter a date like 2026-12-31.".to_owned())?;
            let value = date.format("%Y-%m-%d").to_string();
            Ok(Stored { key: value.clone(), value, number: None, option_id: None })
        }
        FieldKind::DateTime => {
            let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                .or_else(|| {
                    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
                })
                .filter(|t| plausible(&t.date()))
                .ok_or("Enter a date and time like 2026-12-31 14:30.")?;
            let value = clock.to_utc(local).format("%Y-%m-%dT%H:%M:%S").to_string();
            Ok(Stored { key: value.clone(), value, number: None, option_id: None })
        }
        FieldKind::Boolean => {
            let yes = match fold(t).as_str() {
                "yes" | "true" | "1" | "y" | "on" => true,
                "no" | "false" | "0" | "n" | "off" => false,
                _ => return Err("Choose yes or no.".to_owned()),
            };
            let value = if yes { "yes" } else { "no" }.to_owned();
            Ok(Stored { key: value.clone(), value, number: None, option_id: None })
        }
        FieldKind::Select | FieldKind::MultiSelect => option(def, t, current, labels),
    }
}

/// Years 1 to 9999: what a date input offers, and far from the ends of the calendar arithmetic.
pub fn plausible(date: &NaiveDate) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&date.year())
}

/// Whether `value` is already in the stored form of a field like `def` (what a type change that
/// ran half-way, or a save beside it, may have left).
pub fn is_stored_form(def: &FieldDef, value: &str) -> bool {
    match def.kind {
        FieldKind::Integer => value.parse::<i64>().is_ok(),
        FieldKind::Decimal => {
            let digits = value.strip_prefix('-').unwrap_or(value);
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
            !whole.is_empty()
                && whole.chars().all(|c| c.is_ascii_digit())
                && fraction.chars().all(|c| c.is_ascii_digit())
                && fraction.len() == def.decimals.max(0) as usize
        }
        FieldKind::Date => value.len() == 10 && NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        FieldKind::DateTime => stored_datetime(value).is_some(),
        FieldKind::Boolean => value == "yes" || value == "no",
        FieldKind::Select | FieldKind::MultiSelect => value.parse::<i64>().is_ok(),
        _ => true,
    }
}

fn within(t: &str, max: usize) -> Result<(), String> {
    if t.chars().count() > max {
        Err(format!("Use at most {max} characters."))
    } else {
        Ok(())
    }
}

/// An option by id (what forms send) or by label, case-insensitively (what imports and bulk
/// edits send).
fn option(def: &FieldDef, t: &str, current: &[i64], labels: bool) -> Result<Stored, String> {
    let found = match labels {
        true => def.options.iter().find(|o| fold(&o.label) == fold(t)),
        false => t.parse::<i64>().ok().and_then(|id| def.option(id)),
    };
    match found {
        Some(o) if !o.retired || current.contains(&o.id) => {
            Ok(Stored { value: o.id.to_string(), key: o.id.to_string(), number: None, option_id: Some(o.id) })
        }
        Some(o) => Err(format!("“{}” is retired: choose another option.", o.label)),
        None => Err("Choose one of the options.".to_owned()),
    }
}

/// "1,000" or "1.500": one separator followed by exactly three digits is a thousands separator
/// in one country and a decimal point in another. Where the field keeps fewer than three
/// decimals, such a number is refused rather than guessed.
fn ambiguous(t: &str, decimals: usize) -> bool {
    let t = t.trim().trim_start_matches(['-', '+']);
    let separators: Vec<(usize, char)> = t.char_indices().filter(|(_, c)| matches!(c, '.' | ',')).collect();
    match separators.as_slice() {
        [(i, _)] => {
            let (whole, fraction) = (&t[..*i], &t[i + 1..]);
            decimals < 3
                && fraction.len() == 3
                && fraction.chars().all(|c| c.is_ascii_digit())
                && !whole.is_empty()
                && !whole.trim_start_matches('0').is_empty()
        }
        _ => false,
    }
}

const AMBIGUOUS: &str = "Write it without a thousands separator (1000, or 1000.5 with a point): 1,000 and 1.000 mean different numbers in different countries.";

/// A number as typed, without grouping: digits, an optional leading minus, at most one point.
/// The last of `.` or `,` is the decimal separator when both appear; a lone `,` is one too.
fn number_text(t: &str) -> Option<String> {
    let t: String = t.chars().filter(|c| !matches!(c, ' ' | '_' | '\'' | '\u{a0}' | '\u{202f}')).collect();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, t.strip_prefix('+').unwrap_or(&t).to_owned()),
    };
    let separator = match (t.rfind('.'), t.rfind(',')) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(_), None) => Some('.'),
        (None, Some(_)) if t.matches(',').count() == 1 => Some(','),
        _ => None,
    };
    let mut out = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if Some(c) == separator {
            if out.contains('.') {
                return None;
            }
            out.push('.');
        } else if c != '.' && c != ',' {
            return None;
        }
    }
    let whole = out.split('.').next().unwrap_or_default();
    if whole.is_empty() && !out.contains('.') {
        return None;
    }
    if out.starts_with('.') {
        out.insert(0, '0');
    }
    Some(if negative { format!("-{out}") } else { out })
}

/// `digits` (from [`number_text`]) with exactly `decimals` digits after the point: padded, never
/// rounded.
fn with_decimals(digits: &str, decimals: usize) -> Result<String, String> {
    let (negative, digits) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, digits),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > decimals {
        return Err(match decimals {
            0 => "Enter a whole number.".to_owned(),
            1 => "Use at most 1 decimal.".to_owned(),
            n => format!("Use at most {n} decimals."),
        });
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    if whole.len() + decimals > MAX_DIGITS {
        return Err(format!("Use at most {MAX_DIGITS} digits."));
    }
    let mut value = whole.to_owned();
    if decimals > 0 {
        value.push('.');
        value.push_str(fraction);
        value.push_str(&"0".repeat(decimals - fraction.len()));
    }
    let zero = value.chars().all(|c| c == '0' || c == '.');
    Ok(if negative && !zero { format!("-{value}") } else { value })
}

fn stored_datetime(value: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").ok()
}

/// A stored value as a person reads it: dates in the organisation's format, decimals with their
/// unit, options by label (a retired one says so).
pub fn shown(def: &FieldDef, values: &[String], clock: &Clock) -> String {
    values
        .iter()
        .map(|v| match def.kind {
            FieldKind::Decimal if !def.unit.is_empty() => format!("{v} {}", def.unit),
            FieldKind::Date => {
                NaiveDate::parse_from_str(v, "%Y-%m-%d").map(|d| clock.date(d)).unwrap_or_else(|_| v.clone())
            }
            FieldKind::DateTime => stored_datetime(v).map(|t| clock.stamp(t)).unwrap_or_else(|| v.clone()),
            FieldKind::Boolean => if v == "yes" { "Yes" } else { "No" }.to_owned(),
            FieldKind::Select | FieldKind::MultiSelect => {
                match v.parse().ok().and_then(|id| def.option(id)) {
                    Some(o) if o.retired => format!("{} (retired)", o.label),
                    Some(o) => o.label.clone(),
                    None => v.clone(),
                }
            }
            _ => v.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stored value as the form's input holds it (and as the CSV export writes it, so that it
/// imports back): option ids become labels only in the export (`labels`).
pub fn editable(def: &FieldDef, value: &str, clock: &Clock, labels: bool) -> String {
    match def.kind {
        FieldKind::DateTime => match stored_datetime(value) {
            Some(t) if labels => clock.local(t).format("%Y-%m-%d %H:%M").to_string(),
            Some(t) => clock.local(t).format("%Y-%m-%dT%H:%M").to_string(),
            // A date a type change has not converted yet: midnight, for the date-time input.
            None if value.len() == 10 => format!("{value}T00:00"),
            None => value.to_owned(),
        },
        FieldKind::Select | FieldKind::MultiSelect if labels => value
            .parse()
            .ok()
            .and_then(|id| def.option(id))
            .map(|o| o.label.clone())
            .unwrap_or_else(|| value.to_owned()),
        _ => value.to_owned(),
    }
}

/// The stored values of a field, converted for a field of `to`'s type and settings: the new
/// stored values, or why they do not fit.
pub fn convert(
    from: &FieldDef,
    to: &FieldDef,
    values: &[String],
    clock: &Clock,
) -> Result<Vec<Stored>, String> {
    if from.kind.has_options() && to.kind.has_options() {
        if to.kind == FieldKind::Select && values.len() > 1 {
            return Err(format!("{} options chosen; a single select holds one.", values.len()));
        }
        let ids: Vec<i64> = values.iter().filter_map(|v| v.parse().ok()).collect();
        return parse_as(&FieldDef { required: false, ..to.clone() }, values, &ids, clock, Read::Stored);
    }
    let typed: Vec<String> = values.iter().map(|v| editable(from, v, clock, false)).collect();
    let typed: Vec<String> = match (from.kind, to.kind) {
        // A date-time becomes a date only when it is midnight, where the organisation is.
        (FieldKind::DateTime, FieldKind::Date) => {
            let mut out = Vec::new();
            for t in typed {
                match t.strip_suffix("T00:00") {
                    Some(date) => out.push(date.to_owned()),
                    None => return Err("It has a time of day, which a date cannot hold.".to_owned()),
                }
            }
            out
        }
        (FieldKind::Date, FieldKind::Text) => typed,
        _ => typed,
    };
    parse_as(&FieldDef { required: false, ..to.clone() }, &typed, &[], clock, Read::Stored)
}

/// A number typed into a filter of a field with `decimals` ("1.234,5", "-7"), if it is one
/// (an ambiguous "1,000" is not).
pub fn number(t: &str, decimals: i32) -> Option<f64> {
    if ambiguous(t, decimals.max(0) as usize) {
        return None;
    }
    number_text(t.trim()).and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldOption;

    fn def(kind: FieldKind) -> FieldDef {
        FieldDef { label: "Value".into(), kind, decimals: 2, ..Default::default() }
    }

    fn one(def: &FieldDef, typed: &str) -> Result<String, String> {
        parse(def, &[typed.to_owned()], &[], &Clock::default()).map(|s| s[0].value.clone())
    }

    #[test]
    fn decimals_are_kept_as_text_with_the_fields_digits_and_never_rounded() {
        let d = def(FieldKind::Decimal);
        assert_eq!(one(&d, "12.5"), Ok("12.50".into()));
        assert_eq!(one(&d, "1,234.5"), Ok("1234.50".into()));
        assert_eq!(one(&d, "1,000"), Err(AMBIGUOUS.into()), "a thousand, or one? Not guessed");
        assert_eq!(one(&d, "1.500"), Err(AMBIGUOUS.into()));
        assert_eq!(one(&d, "0,125"), Err("Use at most 2 decimals.".into()), "a leading 0 is no thousands");
        assert_eq!(one(&FieldDef { decimals: 3, ..d.clone() }, "1.500"), Ok("1.500".into()));
        assert_eq!(one(&d, "1.234,5"), Ok("1234.50".into()));
        assert_eq!(one(&d, "0,1"), Ok("0.10".into()));
        assert_eq!(one(&d, "-0.00"), Ok("0.00".into()));
        assert_eq!(one(&d, "0.1"), Ok("0.10".into()), "0.1 + 0.2 is not 0.30000000000000004 here");
        assert_eq!(one(&d, "12.3456"), Err("Use at most 2 decimals.".into()));
        assert!(one(&d, "12 Euro").is_err());
        assert!(one(&d, "1234567890123456").is_err(), "more digits than a float orders exactly");
        let whole = def(FieldKind::Integer);
        assert_eq!(one(&whole, "1 000"), Ok("1000".into()));
        assert_eq!(one(&whole, "-7"), Ok("-7".into()));
        assert!(one(&whole, "7.5").is_err());
        assert_eq!(one(&whole, "1,000"), Err(AMBIGUOUS.into()));
        assert_eq!(one(&whole, "12.00"), Ok("12".into()));
    }

    #[test]
    fn dates_keep_their_day_and_date_times_are_stored_in_utc() {
        let berlin = Clock { tz: crate::clock::time_zone("Europe/Berlin").unwrap(), ..Clock::default() };
        let date = def(FieldKind::Date);
        let stored = parse(&date, &["2026-03-29".into()], &[], &berlin).unwrap();
        assert_eq!(stored[0].value, "2026-03-29", "no time zone shift");
        let at = def(FieldKind::DateTime);
        let stored = parse(&at, &["2026-12-01T00:30".into()], &[], &berlin).unwrap();
        assert_eq!(stored[0].value, "2026-11-30T23:30:00");
        assert_eq!(editable(&at, &stored[0].value, &berlin, false), "2026-12-01T00:30");
        assert!(one(&date, "31.12.2026").is_err());
    }

    #[test]
    fn options_are_picked_by_id_or_label_and_a_retired_one_only_stays() {
        let mut select = def(FieldKind::MultiSelect);
        select.options = vec![
            FieldOption { id: 1, label: "Grün".into(), color: "#16a34a".into(), retired: false },
            FieldOption { id: 2, label: "Rot".into(), color: "#dc2626".into(), retired: true },
        ];
        let c = Clock::default();
        let picked = parse_labels(&select, &["GRÜN".into(), "grün".into()], &[], &c).unwrap();
        assert_eq!(picked.len(), 1);
        assert_eq!(parse(&select, &["1".into()], &[], &c).unwrap(), picked, "forms send ids");
        assert!(parse_labels(&select, &["1".into()], &[], &c).is_err(), "a label is never an id");
        assert!(parse(&select, &["2".into()], &[], &c).is_err());
        assert_eq!(parse(&select, &["2".into(), "1".into()], &[2], &c).unwrap()[0].value, "2", "order kept");
        assert_eq!(shown(&select, &["2".into(), "1".into()], &c), "Rot (retired), Grün");
    }

    #[test]
    fn required_and_format_messages_name_the_problem() {
        let mut email = def(FieldKind::Email);
        email.required = true;
        email.label = "Billing email".into();
        let c = Clock::default();
        assert_eq!(parse(&email, &["  ".into()], &[], &c), Err("Enter Billing email.".into()));
        assert!(one(&email, "not-an-email").is_err());
        assert!(one(&def(FieldKind::Phone), "call me").is_err());
        assert!(one(&def(FieldKind::Text), "two\nlines").is_err());
        assert_eq!(one(&def(FieldKind::Boolean), "Yes"), Ok("yes".into()));
        assert_eq!(parse(&def(FieldKind::Text), &["Ärzte".into()], &[], &c).unwrap()[0].key, "ärzte");
    }

    #[test]
    fn conversions_say_which_values_do_not_fit() {
        let c = Clock::default();
        let (decimal, whole) = (def(FieldKind::Decimal), def(FieldKind::Integer));
        assert_eq!(convert(&whole, &decimal, &["12".into()], &c).unwrap()[0].value, "12.00");
        assert_eq!(convert(&decimal, &whole, &["12.00".into()], &c).unwrap()[0].value, "12");
        assert!(convert(&decimal, &whole, &["12.50".into()], &c).is_err());
        let three = FieldDef { decimals: 3, ..decimal.clone() };
        assert_eq!(
            convert(&three, &decimal, &["1.500".into()], &c).unwrap()[0].value,
            "1.50",
            "stored text is never ambiguous"
        );
        assert_eq!(convert(&three, &whole, &["1.000".into()], &c).unwrap()[0].value, "1");
        let (date, at) = (def(FieldKind::Date), def(FieldKind::DateTime));
        assert_eq!(convert(&date, &at, &["2026-12-01".into()], &c).unwrap()[0].value, "2026-12-01T00:00:00");
        assert!(convert(&at, &date, &["2026-12-01T10:00:00".into()], &c).is_err());
        let (single, multi) = (def(FieldKind::Select), def(FieldKind::MultiSelect));
        let mut multi = multi;
        multi.options = vec![FieldOption { id: 4, label: "A".into(), color: String::new(), retired: false }];
        let single = FieldDef { options: multi.options.clone(), ..single };
        assert!(convert(&multi, &single, &["4".into(), "4".into()], &c).is_err());
        assert_eq!(convert(&single, &multi, &["4".into()], &c).unwrap()[0].option_id, Some(4));
    }
}
